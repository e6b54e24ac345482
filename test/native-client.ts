/**
 * A strict test client of the chamber-image protocol. It reads the server's TLS records from the
 * wire (a tap under the TLS layer) and fails unless every frame is one 16-byte header record
 * (length, 0, 1, 0) followed by body records of at most 4096 bytes that end exactly at the frame's
 * end, the last one not 16 bytes, and the JPEG is JFIF. TLS 1.2 with AES-GCM only, so a record's
 * plaintext size is exact: ciphertext length − 8 (explicit nonce) − 16 (tag).
 */
import { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { connect, type TLSSocket } from 'node:tls';
import { encodeAuthPacket } from '../src/protocol/chamber';

const APPLICATION_DATA = 23;
const GCM_TLS12_OVERHEAD = 24;

export interface StrictClientOptions {
  port: number;
  code: string;
  user?: string;
  host?: string;
  /** 'AES128-GCM-SHA256' (plain RSA key exchange, as printers) or an ECDHE-RSA AES-GCM suite. */
  cipher?: string;
  /** Trust this CA (PEM) and verify the server; default: no verification, as most clients. */
  ca?: string;
  servername?: string;
  /** Stop reading after authenticating (a stalled viewer). */
  stall?: boolean;
}

/** A Duplex over a TCP socket that sees every byte the server sends, before TLS decrypts it. */
function tappedSocket(
  host: string,
  port: number,
  onWire: (chunk: Buffer) => void,
): { duplex: Duplex; tcp: Socket } {
  const tcp = new Socket();
  const duplex: Duplex = new Duplex({
    write(chunk, _enc, cb) {
      tcp.write(chunk, cb);
    },
    final(cb) {
      tcp.end();
      cb();
    },
    read() {
      if (!stalled.has(tcp)) tcp.resume();
    },
    destroy(err, cb) {
      tcp.destroy();
      cb(err);
    },
  });
  tcp.on('data', (chunk: Buffer) => {
    onWire(chunk);
    if (!duplex.push(chunk)) tcp.pause();
  });
  tcp.on('end', () => duplex.push(null));
  tcp.on('error', (err) => duplex.destroy(err));
  tcp.on('close', () => duplex.destroy());
  tcp.connect(port, host);
  return { duplex, tcp };
}

/** TCP sockets that stopped reading for good (a stalled viewer). */
const stalled = new WeakSet<Socket>();

export class StrictChamberClient {
  readonly frames: Buffer[] = [];
  /** Plaintext sizes of the application-data records, in order. */
  readonly records: number[] = [];
  plaintextBytes = 0;
  violation: string | null = null;
  closed = false;
  readonly done: Promise<void>;
  private readonly socket: TLSSocket;
  private wire: Buffer = Buffer.alloc(0);
  private pendingRecords: number[] = [];
  private plain: Buffer = Buffer.alloc(0);
  private frameLeft = -1;
  private frameParts: Buffer[] = [];
  private lastBodyRecord = 0;
  private waiters: (() => void)[] = [];

  constructor(opts: StrictClientOptions) {
    const host = opts.host ?? '127.0.0.1';
    const { duplex, tcp } = tappedSocket(host, opts.port, (chunk) => this.onWire(chunk));
    this.socket = connect({
      socket: duplex,
      minVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.2',
      ciphers: opts.cipher ?? 'AES128-GCM-SHA256',
      rejectUnauthorized: !!opts.ca,
      ca: opts.ca,
      servername: opts.servername,
    });
    this.socket.once('secureConnect', () => {
      this.socket.write(encodeAuthPacket(opts.code, opts.user));
      if (opts.stall) {
        stalled.add(tcp);
        tcp.pause();
      }
    });
    this.socket.on('data', (chunk: Buffer) => this.onPlain(chunk));
    this.socket.on('error', (err) => {
      if (!this.closed) this.violation ??= `socket error: ${err.message}`;
    });
    this.done = new Promise((resolve) => this.socket.once('close', () => resolve()));
    this.done.then(() => {
      this.closed = true;
      this.wake();
    });
  }

  get tlsSocket(): TLSSocket {
    return this.socket;
  }

  /** Resolves when `n` frames arrived; rejects on a framing violation, an early close or time out. */
  async waitForFrames(n: number, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length < n) {
      if (this.violation) throw new Error(`framing violation: ${this.violation}`);
      if (this.closed) throw new Error(`closed after ${this.frames.length} frames`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out with ${this.frames.length}/${n} frames`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    if (this.violation) throw new Error(`framing violation: ${this.violation}`);
  }

  close(): Promise<void> {
    this.closed = true;
    this.socket.destroy();
    return this.done;
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  private fail(message: string): void {
    this.violation ??= message;
    this.wake();
  }

  private onWire(chunk: Buffer): void {
    this.wire = Buffer.concat([this.wire, chunk]);
    while (this.wire.length >= 5) {
      const length = this.wire.readUInt16BE(3);
      if (this.wire.length < 5 + length) break;
      if (this.wire[0] === APPLICATION_DATA) this.pendingRecords.push(length - GCM_TLS12_OVERHEAD);
      this.wire = this.wire.subarray(5 + length);
    }
  }

  private onPlain(chunk: Buffer): void {
    this.plaintextBytes += chunk.length;
    this.plain = this.plain.length ? Buffer.concat([this.plain, chunk]) : chunk;
    while (this.pendingRecords.length && this.plain.length >= this.pendingRecords[0]) {
      const size = this.pendingRecords.shift()!;
      const record = this.plain.subarray(0, size);
      this.plain = this.plain.subarray(size);
      this.records.push(size);
      this.onRecord(record);
    }
  }

  private onRecord(record: Buffer): void {
    const problem = this.check(record);
    if (problem) this.fail(problem);
  }

  /** Take one record; a message when it breaks the printer's framing. */
  private check(record: Buffer): string | null {
    if (this.frameLeft < 0) {
      if (record.length !== 16) return `expected a 16-byte header record, got ${record.length} bytes`;
      const [len, itrack, flags, zero] = [0, 4, 8, 12].map((o) => record.readUInt32LE(o));
      if (itrack !== 0 || flags !== 1 || zero !== 0 || len === 0)
        return `header words ${len},${itrack},${flags},${zero} are not length,0,1,0`;
      this.frameLeft = len;
      this.frameParts = [];
      return null;
    }
    if (record.length > 4096) return `body record of ${record.length} bytes (> 4096)`;
    if (record.length > this.frameLeft)
      return `a record of ${record.length} bytes crosses the frame end (${this.frameLeft} left)`;
    this.frameParts.push(Buffer.from(record));
    this.frameLeft -= record.length;
    this.lastBodyRecord = record.length;
    if (this.frameLeft > 0) return null;
    this.frameLeft = -1;
    if (this.lastBodyRecord === 16) return 'the last body record is exactly 16 bytes';
    const jpeg = Buffer.concat(this.frameParts);
    if (!(jpeg[0] === 0xff && jpeg[1] === 0xd8 && jpeg[2] === 0xff && jpeg[3] === 0xe0))
      return 'frame is not JFIF (FF D8 FF E0)';
    if (jpeg[jpeg.length - 2] !== 0xff || jpeg[jpeg.length - 1] !== 0xd9) return 'frame does not end FF D9';
    this.frames.push(jpeg);
    this.wake();
    return null;
  }
}

export interface ProbeResult {
  /** Bytes the server sent (plaintext when `tls`, raw TCP bytes otherwise). */
  bytes: number;
  closed: boolean;
}

/**
 * Connect, send `payload` (after the TLS handshake when `tls`, else raw), and report how many bytes
 * came back before the server closed, or after `waitMs` if it did not.
 */
export function probe(
  port: number,
  payload: Buffer | null,
  opts: { tls: boolean; waitMs: number },
): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let bytes = 0;
    let settled = false;
    const socket: Socket = opts.tls
      ? connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
          if (payload) socket.write(payload);
        })
      : new Socket().connect(port, '127.0.0.1', () => {
          if (payload) socket.write(payload);
        });
    const finish = (closed: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ bytes, closed });
    };
    const timer = setTimeout(() => finish(false), opts.waitMs);
    socket.on('data', (c: Buffer) => {
      bytes += c.length;
    });
    socket.on('error', () => {});
    socket.once('close', () => finish(true));
  });
}
