/**
 * The printer's chamber-image protocol (TLS :6000), pure wire format: no I/O.
 * See shared PROTOCOLS.md §3.
 */

export const AUTH_PACKET_BYTES = 80;
export const FRAME_HEADER_BYTES = 16;
/** Peers bound frames at 10 MB; anything larger is a broken stream, not a picture. */
export const MAX_FRAME_BYTES = 10 * 1024 * 1024;
/** The printer sends the JPEG body in TLS records of at most this much plaintext. */
export const MAX_RECORD_PLAINTEXT = 4096;
const AUTH_PAYLOAD_BYTES = 0x40;
const AUTH_TYPE = 0x3000;
const FIELD_BYTES = 32;

export const CHAMBER_USER = 'bblp';

/** Build the 80-byte packet a client sends once after the TLS handshake. */
export function encodeAuthPacket(accessCode: string, user = CHAMBER_USER): Buffer {
  const buf = Buffer.alloc(AUTH_PACKET_BYTES);
  buf.writeUInt32LE(AUTH_PAYLOAD_BYTES, 0);
  buf.writeUInt32LE(AUTH_TYPE, 4);
  buf.write(user.slice(0, FIELD_BYTES), 16, 'ascii');
  buf.write(accessCode.slice(0, FIELD_BYTES), 48, 'ascii');
  return buf;
}

export interface AuthPacket {
  user: string;
  accessCode: string;
}

function readField(buf: Buffer, offset: number): string {
  const field = buf.subarray(offset, offset + FIELD_BYTES);
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? FIELD_BYTES : end).toString('latin1');
}

/** Parse an auth packet; `null` when the header words are not the printer's. */
export function decodeAuthPacket(buf: Buffer): AuthPacket | null {
  if (buf.length !== AUTH_PACKET_BYTES) return null;
  if (buf.readUInt32LE(0) !== AUTH_PAYLOAD_BYTES || buf.readUInt32LE(4) !== AUTH_TYPE) return null;
  if (buf.readUInt32LE(8) !== 0 || buf.readUInt32LE(12) !== 0) return null;
  return { user: readField(buf, 16), accessCode: readField(buf, 48) };
}

/** The 16-byte header the printer puts before each JPEG: length, itrack 0, flags 1, 0. */
export function encodeFrameHeader(length: number): Buffer {
  const buf = Buffer.alloc(FRAME_HEADER_BYTES);
  buf.writeUInt32LE(length, 0);
  buf.writeUInt32LE(0, 4);
  buf.writeUInt32LE(1, 8);
  buf.writeUInt32LE(0, 12);
  return buf;
}

/**
 * Split a JPEG into record-sized chunks of at most 4096 bytes, never leaving a last chunk of
 * exactly 16 bytes (a client could mistake it for a frame header).
 */
export function chunkFrameBody(jpeg: Buffer, max = MAX_RECORD_PLAINTEXT): Buffer[] {
  const chunks: Buffer[] = [];
  let offset = 0;
  while (offset < jpeg.length) {
    const rest = jpeg.length - offset;
    let size = Math.min(max, rest);
    if (rest - size === FRAME_HEADER_BYTES) size -= 1;
    chunks.push(jpeg.subarray(offset, offset + size));
    offset += size;
  }
  return chunks;
}

/**
 * A frame body's socket writes. With the socket's maximum send fragment at 4096 (`fragmentLimit`),
 * one write that TLS cuts into records, with the last 17 bytes split off when the last record would
 * be exactly 16 bytes; without it, one write per record (`chunkFrameBody`).
 */
export function bodyWrites(jpeg: Buffer, fragmentLimit: boolean): Buffer[] {
  if (!fragmentLimit) return chunkFrameBody(jpeg);
  if (jpeg.length > FRAME_HEADER_BYTES && jpeg.length % MAX_RECORD_PLAINTEXT === FRAME_HEADER_BYTES) {
    const cut = jpeg.length - FRAME_HEADER_BYTES - 1;
    return [jpeg.subarray(0, cut), jpeg.subarray(cut)];
  }
  return [jpeg];
}

export class ChamberProtocolError extends Error {
  override name = 'ChamberProtocolError';
}

/** True if `buf` starts with the JPEG start-of-image marker and ends with end-of-image. */
export function looksLikeJpeg(buf: Buffer): boolean {
  return (
    buf.length >= 4 &&
    buf[0] === 0xff &&
    buf[1] === 0xd8 &&
    buf[buf.length - 2] === 0xff &&
    buf[buf.length - 1] === 0xd9
  );
}

/**
 * Incremental parser of the printer → client byte stream: feed it chunks of any size, it returns
 * whole JPEGs. Throws ChamberProtocolError on a length out of bounds or a payload that is not a JPEG;
 * the connection is then unusable, since the framing is lost.
 */
export class ChamberFrameParser {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private expected = -1;

  constructor(private readonly maxFrameBytes = MAX_FRAME_BYTES) {}

  /** Bytes held for a frame not yet complete (0 between frames). */
  get pendingBytes(): number {
    return this.buffered;
  }

  push(data: Buffer): Buffer[] {
    const frames: Buffer[] = [];
    this.chunks.push(data);
    this.buffered += data.length;
    for (;;) {
      if (this.expected < 0) {
        if (this.buffered < FRAME_HEADER_BYTES) break;
        const header = this.take(FRAME_HEADER_BYTES);
        const length = header.readUInt32LE(0);
        if (length === 0 || length > this.maxFrameBytes) {
          throw new ChamberProtocolError(
            `frame length ${length} is out of bounds (1..${this.maxFrameBytes})`,
          );
        }
        this.expected = length;
      }
      if (this.buffered < this.expected) break;
      const jpeg = this.take(this.expected);
      this.expected = -1;
      if (!looksLikeJpeg(jpeg)) throw new ChamberProtocolError('frame payload is not a JPEG');
      frames.push(jpeg);
    }
    return frames;
  }

  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.buffered);
    // Copy a frame out of the buffer so the rest of the chunk can be released.
    const out = all.length === n ? all : Buffer.from(all.subarray(0, n));
    const rest = all.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.buffered = rest.length;
    return out;
  }
}
