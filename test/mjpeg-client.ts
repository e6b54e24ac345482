/**
 * A strict MJPEG (multipart/x-mixed-replace) reader for tests: it checks every part's
 * Content-Type and Content-Length and hands out the JPEG bodies.
 */
import { type ClientRequest, type IncomingMessage, request } from 'node:http';

export interface MjpegPart {
  jpeg: Buffer;
  at: number;
}

export class MjpegClient {
  readonly parts: MjpegPart[] = [];
  response: IncomingMessage | null = null;
  closed = false;
  error: Error | null = null;
  private buf = Buffer.alloc(0);
  private boundary = '';
  private req: ClientRequest;
  private waiters: (() => boolean)[] = [];

  constructor(url: string, opts: { paused?: boolean } = {}) {
    this.req = request(url, (res) => {
      this.response = res;
      const m = /boundary=([^;]+)/.exec(res.headers['content-type'] ?? '');
      this.boundary = m ? m[1] : '';
      if (opts.paused) {
        res.pause();
        return;
      }
      res.on('data', (c: Buffer) => this.onData(c));
      res.on('close', () => this.finish());
      res.on('error', (e) => this.finish(e));
    });
    this.req.on('error', (e) => this.finish(e));
    this.req.end();
  }

  get socketClosed(): boolean {
    return this.closed || !!this.response?.socket?.destroyed;
  }

  /** Resolve once at least `n` parts have arrived. */
  waitForParts(n: number, timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`only ${this.parts.length} of ${n} MJPEG parts arrived`)),
        timeoutMs,
      );
      const check = () => {
        if (this.parts.length >= n) {
          clearTimeout(timer);
          resolve();
          return true;
        }
        if (this.closed) {
          clearTimeout(timer);
          reject(
            new Error(`stream closed after ${this.parts.length} parts: ${this.error?.message ?? 'closed'}`),
          );
          return true;
        }
        return false;
      };
      if (!check()) this.waiters.push(check);
    });
  }

  close(): void {
    this.req.destroy();
  }

  private finish(err?: Error): void {
    this.error ??= err ?? null;
    this.closed = true;
    this.notify();
  }

  private notify(): void {
    this.waiters = this.waiters.filter((w) => !w());
  }

  private onData(chunk: Buffer): void {
    this.buf = Buffer.concat([this.buf, chunk]);
    const delimiter = Buffer.from(`--${this.boundary}\r\n`);
    for (;;) {
      const start = this.buf.indexOf(delimiter);
      if (start < 0) return;
      const headerEnd = this.buf.indexOf('\r\n\r\n', start);
      if (headerEnd < 0) return;
      const headers = this.buf.subarray(start + delimiter.length, headerEnd).toString();
      const type = /content-type:\s*(\S+)/i.exec(headers)?.[1];
      const length = Number(/content-length:\s*(\d+)/i.exec(headers)?.[1]);
      if (type !== 'image/jpeg' || !Number.isInteger(length)) {
        this.finish(new Error(`bad MJPEG part headers: ${headers}`));
        this.req.destroy();
        return;
      }
      const bodyStart = headerEnd + 4;
      if (this.buf.length < bodyStart + length) return;
      this.parts.push({
        jpeg: Buffer.from(this.buf.subarray(bodyStart, bodyStart + length)),
        at: Date.now(),
      });
      this.buf = this.buf.subarray(bodyStart + length);
      this.notify();
    }
  }
}
