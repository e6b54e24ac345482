/**
 * RTSP 1.0 messages (RFC 2326) and the interleaved binary frames that share the same TCP stream
 * (RFC 2326 §10.12: `$`, channel, u16 BE length, data). Pure: no I/O.
 */

export interface RtspRequest {
  kind: 'request';
  method: string;
  uri: string;
  /** Header names in lower case; the last value wins for repeated headers. */
  headers: Record<string, string>;
  body: Buffer;
}

export interface RtspResponse {
  kind: 'response';
  status: number;
  reason: string;
  headers: Record<string, string>;
  body: Buffer;
}

export interface InterleavedFrame {
  kind: 'interleaved';
  channel: number;
  data: Buffer;
}

export type RtspMessage = RtspRequest | RtspResponse | InterleavedFrame;

export class RtspParseError extends Error {
  override name = 'RtspParseError';
}

/** Longest header block we accept; a peer sending more is not speaking RTSP. */
export const MAX_HEADER_BYTES = 16 * 1024;
export const MAX_BODY_BYTES = 64 * 1024;

const CRLFCRLF = Buffer.from('\r\n\r\n');

/**
 * Splits a byte stream into RTSP requests/responses and interleaved frames. Feed it chunks as they
 * arrive; it returns the complete messages and keeps the rest. Throws RtspParseError on garbage.
 */
export class RtspStreamParser {
  private buf: Buffer = Buffer.alloc(0);

  get pendingBytes(): number {
    return this.buf.length;
  }

  push(chunk: Buffer): RtspMessage[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: RtspMessage[] = [];
    for (;;) {
      const msg = this.next();
      if (!msg) break;
      out.push(msg);
    }
    return out;
  }

  private next(): RtspMessage | null {
    const buf = this.buf;
    if (buf.length === 0) return null;
    if (buf[0] === 0x24) {
      if (buf.length < 4) return null;
      const len = buf.readUInt16BE(2);
      if (buf.length < 4 + len) return null;
      const frame: InterleavedFrame = {
        kind: 'interleaved',
        channel: buf[1],
        data: buf.subarray(4, 4 + len),
      };
      this.buf = buf.subarray(4 + len);
      return frame;
    }
    const end = buf.indexOf(CRLFCRLF);
    if (end < 0) {
      if (buf.length > MAX_HEADER_BYTES) throw new RtspParseError('header block too long');
      return null;
    }
    const head = buf.subarray(0, end).toString('latin1');
    const lines = head.split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon <= 0) throw new RtspParseError(`malformed header line: ${line.slice(0, 60)}`);
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const lengthText = headers['content-length'] ?? '0';
    if (!/^\d+$/.test(lengthText)) throw new RtspParseError(`bad Content-Length: ${lengthText}`);
    const bodyLength = Number(lengthText);
    if (bodyLength > MAX_BODY_BYTES) throw new RtspParseError(`body too long: ${bodyLength} bytes`);
    if (buf.length < end + 4 + bodyLength) return null;
    const body = buf.subarray(end + 4, end + 4 + bodyLength);
    this.buf = buf.subarray(end + 4 + bodyLength);
    const first = lines[0];
    const status = /^RTSP\/1\.0 (\d{3}) ?(.*)$/.exec(first);
    if (status) {
      return { kind: 'response', status: Number(status[1]), reason: status[2], headers, body };
    }
    const request = /^([A-Z_]+) (\S+) RTSP\/1\.0$/.exec(first);
    if (!request) throw new RtspParseError(`not an RTSP message: ${first.slice(0, 60)}`);
    return { kind: 'request', method: request[1], uri: request[2], headers, body };
  }
}

export type HeaderValues = Record<string, string | number | string[]>;

/** Header names are tokens (RFC 2326 §15). */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Values are visible characters, spaces and tabs: no CR, LF or NUL, so no value can add a line. */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** The header lines; a header whose name or value is not valid is left out (never sent half-checked). */
function headerBlock(headers: HeaderValues, body: Buffer | undefined): string {
  let out = '';
  for (const [name, value] of Object.entries(headers)) {
    if (!TOKEN.test(name)) continue;
    for (const v of Array.isArray(value) ? value : [value]) {
      const text = String(v);
      if (FIELD_VALUE.test(text)) out += `${name}: ${text}\r\n`;
    }
  }
  if (body?.length) out += `Content-Length: ${body.length}\r\n`;
  return out;
}

export function serializeRequest(method: string, uri: string, headers: HeaderValues, body?: Buffer): Buffer {
  const head = `${method} ${uri} RTSP/1.0\r\n${headerBlock(headers, body)}\r\n`;
  return body?.length ? Buffer.concat([Buffer.from(head, 'latin1'), body]) : Buffer.from(head, 'latin1');
}

export const STATUS_REASONS: Record<number, string> = {
  200: 'OK',
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  405: 'Method Not Allowed',
  453: 'Not Enough Bandwidth',
  454: 'Session Not Found',
  455: 'Method Not Valid in This State',
  459: 'Aggregate Operation Not Allowed',
  461: 'Unsupported Transport',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
  505: 'RTSP Version Not Supported',
};

export function serializeResponse(status: number, headers: HeaderValues, body?: Buffer): Buffer {
  const head = `RTSP/1.0 ${status} ${STATUS_REASONS[status] ?? 'Unknown'}\r\n${headerBlock(headers, body)}\r\n`;
  return body?.length ? Buffer.concat([Buffer.from(head, 'latin1'), body]) : Buffer.from(head, 'latin1');
}

/** The 4-byte prefix of an interleaved frame. */
export function interleavedHeader(channel: number, length: number): Buffer {
  const h = Buffer.allocUnsafe(4);
  h[0] = 0x24;
  h[1] = channel;
  h.writeUInt16BE(length, 2);
  return h;
}

export interface TransportSpec {
  /** 'tcp' for RTP/AVP/TCP, 'udp' for RTP/AVP or RTP/AVP/UDP. */
  lower: 'tcp' | 'udp';
  interleaved: [number, number] | null;
  multicast: boolean;
  raw: string;
}

/** The first transport a client offers in a SETUP `Transport` header. */
export function parseTransports(header: string): TransportSpec[] {
  return header
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean)
    .map((raw) => {
      const parts = raw.split(';').map((p) => p.trim());
      const proto = parts[0].toUpperCase();
      const lower: 'tcp' | 'udp' = proto.endsWith('/TCP') ? 'tcp' : 'udp';
      let interleaved: [number, number] | null = null;
      for (const p of parts) {
        const m = /^interleaved=(\d{1,3})(?:-(\d{1,3}))?$/i.exec(p);
        const pair: [number, number] | null = m
          ? [Number(m[1]), m[2] === undefined ? Number(m[1]) + 1 : Number(m[2])]
          : null;
        // Channels are one byte on the wire ($, channel, length): anything else is no channel pair.
        if (pair && pair[0] <= 255 && pair[1] <= 255) interleaved = pair;
      }
      return { lower, interleaved, multicast: parts.some((p) => p.toLowerCase() === 'multicast'), raw };
    });
}

/** `Session: <id>;timeout=<s>` → id and timeout. */
export function parseSessionHeader(header: string): { id: string; timeoutS: number | null } {
  const [id, ...params] = header.split(';').map((p) => p.trim());
  let timeoutS: number | null = null;
  for (const p of params) {
    const m = /^timeout=(\d+)$/i.exec(p);
    if (m) timeoutS = Number(m[1]);
  }
  return { id, timeoutS };
}

/** The path of a request URI (`rtsps://host:322/streaming/live/1/` → `/streaming/live/1`), no query or trailing slash. */
export function uriPath(uri: string): string {
  let path: string;
  try {
    path = new URL(uri.replace(/^rtsps?:/i, 'http:')).pathname;
  } catch {
    path = uri.startsWith('/') ? uri.split('?')[0] : '/';
  }
  path = decodeURIComponent(path).replace(/\/+$/, '');
  return path || '/';
}
