/** A raw RTSP conversation over a socket for tests: write exact request text, read exact answers. */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export class RawRtsp {
  readonly socket: Socket;
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  closed = false;
  /** Interleaved bytes received after PLAY. */
  interleavedBytes = 0;
  /** Interleaved frames on channel 0 (RTP), kept when `keepPackets`. */
  readonly packets: Buffer[] = [];
  keepPackets = false;
  private cseq = 0;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.drainInterleaved();
      for (const w of this.waiters.splice(0)) w();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static open(port: number, tls = false): Promise<RawRtsp> {
    return new Promise((resolve, reject) => {
      const socket = tls
        ? tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false }, () =>
            resolve(new RawRtsp(socket)),
          )
        : netConnect(port, '127.0.0.1', () => resolve(new RawRtsp(socket)));
      socket.once('error', reject);
    });
  }

  private drainInterleaved(): void {
    while (this.buf.length >= 4 && this.buf[0] === 0x24) {
      const len = this.buf.readUInt16BE(2);
      if (this.buf.length < 4 + len) return;
      this.interleavedBytes += 4 + len;
      if (this.keepPackets && this.buf[1] === 0)
        this.packets.push(Buffer.from(this.buf.subarray(4, 4 + len)));
      this.buf = this.buf.subarray(4 + len);
    }
  }

  async request(
    method: string,
    uri: string,
    headers: Record<string, string> = {},
    timeoutMs = 10_000,
  ): Promise<RawAnswer> {
    const lines = [`${method} ${uri} RTSP/1.0`, `CSeq: ${++this.cseq}`];
    for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
    this.socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    return this.response(method, timeoutMs);
  }

  /** Write raw text (several pipelined requests, say). */
  write(text: string): void {
    this.socket.write(text);
  }

  /** The next response on the connection. */
  async response(what = 'request', timeoutMs = 10_000): Promise<RawAnswer> {
    const method = what;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end >= 0 && this.buf[0] !== 0x24) {
        const head = this.buf.subarray(0, end).toString('latin1').split('\r\n');
        const headers: Record<string, string> = {};
        for (const l of head.slice(1)) {
          const i = l.indexOf(':');
          headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
        }
        const len = Number(headers['content-length'] ?? 0);
        if (this.buf.length >= end + 4 + len) {
          const body = this.buf.subarray(end + 4, end + 4 + len).toString();
          this.buf = this.buf.subarray(end + 4 + len);
          return { status: Number(head[0].split(' ')[1]), headers, body };
        }
      }
      if (this.closed) throw new Error(`connection closed while waiting for the answer to ${method}`);
      if (Date.now() > deadline) throw new Error(`no answer to ${method}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 100);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  waitClosed(timeoutMs: number): Promise<boolean> {
    if (this.closed) return Promise.resolve(true);
    return new Promise((r) => {
      const t = setTimeout(() => r(false), timeoutMs);
      this.socket.once('close', () => {
        clearTimeout(t);
        r(true);
      });
    });
  }

  close(): void {
    this.socket.destroy();
  }
}
