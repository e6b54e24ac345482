/**
 * A simulated A1/P1 chamber camera (TLS :6000) that behaves like a real printer where it hurts
 * (PROTOCOLS.md §3): 80-byte auth with a silent close on a wrong code, the 16-byte header as its
 * own TLS record and the JPEG in records of at most 4096 bytes, and at most two camera connections:
 * a third completes TCP but gets no TLS handshake until one closes.
 * Faults can be injected (drop all, stall, malformed frames), and it counts what clients did.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { createSecureContext, type SecureContext, TLSSocket } from 'node:tls';
import { rootLogger } from '../log';
import { limitRecordSize, writeChamberFrameAsync } from '../net/chamber-frame-writer';
import { listenOn } from '../net/listen';
import { AUTH_PACKET_BYTES, CHAMBER_USER, decodeAuthPacket, encodeFrameHeader } from '../protocol/chamber';
import { insertComment } from '../protocol/jpeg';
import { generateCertificate, type KeyAndCert } from '../tls/certs';
import { TLS_SERVER_CIPHERS } from '../tls/ciphers';
import { renderPicture } from './picture';

export type MalformedKind = 'zero-length' | 'oversize' | 'not-jpeg' | 'truncated';

export interface SimulatedChamberOptions {
  name: string;
  serial: string;
  accessCode: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  fps?: number;
  /** How often a new picture is drawn (drawing costs CPU; frames in between reuse it). Default min(fps, 5). */
  renderFps?: number;
  /** Picture size (default 1280×720, as A1/P1 cameras) and JPEG quality (default 80: ~40 KB; 95: ~160 KB). */
  width?: number;
  height?: number;
  quality?: number;
  maxConnections?: number;
  /**
   * Latency benchmarks: draw the machine-readable clock (src/simulator/timecode.ts) and send each
   * picture as soon as it is drawn (a camera sends what it has just captured), not on the next tick.
   */
  timecode?: boolean;
  /** Reuse a certificate (generating an RSA key takes a moment). */
  identity?: KeyAndCert;
}

export interface SimulatedChamberStats {
  /** TCP connections accepted, including those kept waiting for a free slot. */
  tcpConnections: number;
  tlsHandshakes: number;
  authAttempts: number;
  authFailures: number;
  /** Camera connections open right now (authenticated and streaming). */
  activeStreams: number;
  /** Most camera connections that were open at the same time. */
  peakStreams: number;
  /** TCP connections waiting for a slot right now. */
  waiting: number;
  framesSent: number;
}

const AUTH_TIMEOUT_MS = 10_000;

/** The time in ms since the epoch with sub-millisecond precision, for latency tags. */
export function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}

/** Read the `seq` and `t` (send time) the simulator writes into each frame's JPEG comment. */
export function parseSimTag(comment: string | null): { seq: number; sentAt: number } | null {
  const m = comment?.match(/^bambucam-sim seq=(\d+) t=([\d.]+)/);
  return m ? { seq: Number(m[1]), sentAt: Number(m[2]) } : null;
}

interface Stream {
  socket: TLSSocket;
  busy: boolean;
}

export class SimulatedChamberCamera {
  readonly stats: SimulatedChamberStats = {
    tcpConnections: 0,
    tlsHandshakes: 0,
    authAttempts: 0,
    authFailures: 0,
    activeStreams: 0,
    peakStreams: 0,
    waiting: 0,
    framesSent: 0,
  };
  readonly identity: KeyAndCert;
  private readonly server: Server;
  private readonly context: SecureContext;
  private readonly tlsSockets = new Set<TLSSocket>();
  private readonly waiting: Socket[] = [];
  private readonly streams = new Set<Stream>();
  private picture: Buffer | null = null;
  private seq = 0;
  private frameTimer: NodeJS.Timeout | null = null;
  private rendering = false;
  private lastRenderAt = 0;
  private stalled = false;
  private malformed: MalformedKind | null = null;
  private accessCode: string;
  private fps: number;
  private readonly log = rootLogger.child('simulator');

  constructor(private readonly opts: SimulatedChamberOptions) {
    this.accessCode = opts.accessCode;
    this.fps = opts.fps ?? 1;
    this.identity = opts.identity ?? generateCertificate({ commonName: opts.serial, issuerName: 'BBL CA' });
    this.context = createSecureContext({
      ...this.identity,
      minVersion: 'TLSv1.2',
      ciphers: TLS_SERVER_CIPHERS,
    });
    this.server = createServer((raw) => this.accept(raw));
  }

  get name(): string {
    return this.opts.name;
  }
  get serial(): string {
    return this.opts.serial;
  }

  get port(): number {
    const addr = this.server.address();
    if (!addr || typeof addr === 'string') throw new Error('simulator is not listening');
    return addr.port;
  }

  async start(): Promise<void> {
    this.picture = await this.render();
    await listenOn(this.server, this.opts.port ?? 0, this.opts.host ?? '127.0.0.1');
    this.scheduleFrames();
  }

  async stop(): Promise<void> {
    if (this.frameTimer) clearInterval(this.frameTimer);
    this.frameTimer = null;
    this.dropAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Change the frame rate while running. */
  setFps(fps: number): void {
    this.fps = fps;
    if (this.frameTimer) this.scheduleFrames();
  }

  /** Close every connection at once, as a printer losing its network does. */
  dropAll(): void {
    for (const raw of this.waiting.splice(0)) raw.destroy();
    for (const s of this.tlsSockets) s.destroy();
  }

  /** Stop sending frames while keeping connections open (a hung camera), or resume. */
  stall(on: boolean): void {
    this.stalled = on;
  }

  /** Send one malformed frame to every streaming client. */
  malformNext(kind: MalformedKind): void {
    this.malformed = kind;
  }

  setAccessCode(code: string): void {
    this.accessCode = code;
  }

  private scheduleFrames(): void {
    if (this.frameTimer) clearInterval(this.frameTimer);
    this.frameTimer = setInterval(() => this.tick(), Math.max(1, Math.round(1000 / this.fps)));
  }

  private render(): Promise<Buffer> {
    const { name, width, height, quality, timecode } = this.opts;
    return renderPicture({ name, frame: this.seq, time: new Date(), width, height, timecode }, quality);
  }

  private tick(): void {
    const renderFps = this.opts.renderFps ?? Math.min(this.fps, 5);
    const now = Date.now();
    if (!this.rendering && now - this.lastRenderAt >= 1000 / renderFps) {
      this.rendering = true;
      this.lastRenderAt = now;
      this.render()
        .then((pic) => {
          this.picture = pic;
          if (this.opts.timecode) this.sendPicture();
        })
        .catch((err) => this.log.error(`render failed: ${err.message}`))
        .finally(() => {
          this.rendering = false;
        });
    }
    if (!this.opts.timecode) this.sendPicture();
  }

  private sendPicture(): void {
    if (this.stalled || !this.picture || this.streams.size === 0) return;
    const seq = ++this.seq;
    const jpeg = insertComment(this.picture, `bambucam-sim seq=${seq} t=${preciseNow().toFixed(3)}`);
    const malformed = this.malformed;
    this.malformed = null;
    for (const stream of this.streams) {
      if (malformed) void this.sendMalformed(stream, malformed, jpeg);
      else if (!stream.busy) void this.send(stream, jpeg);
    }
  }

  private accept(raw: Socket): void {
    this.stats.tcpConnections++;
    raw.on('error', () => {});
    // Hold the ClientHello in the kernel until we decide to answer it.
    raw.pause();
    if (this.tlsSockets.size >= (this.opts.maxConnections ?? 2)) {
      // Like the printer: TCP is accepted but the TLS handshake waits for a free slot.
      this.waiting.push(raw);
      this.stats.waiting = this.waiting.length;
      raw.once('close', () => {
        const i = this.waiting.indexOf(raw);
        if (i >= 0) this.waiting.splice(i, 1);
        this.stats.waiting = this.waiting.length;
      });
      return;
    }
    this.startTls(raw);
  }

  private startTls(raw: Socket): void {
    const socket = new TLSSocket(raw, { isServer: true, secureContext: this.context });
    this.tlsSockets.add(socket);
    let stream: Stream | null = null;
    let received = Buffer.alloc(0);
    const authTimer = setTimeout(() => socket.destroy(), AUTH_TIMEOUT_MS);
    socket.on('error', () => {});
    socket.once('secure', () => {
      this.stats.tlsHandshakes++;
      limitRecordSize(socket);
    });
    socket.on('data', (chunk: Buffer) => {
      if (stream) return; // clients say nothing after auth
      received = Buffer.concat([received, chunk]);
      if (received.length < AUTH_PACKET_BYTES) return;
      clearTimeout(authTimer);
      this.stats.authAttempts++;
      const auth = decodeAuthPacket(received.subarray(0, AUTH_PACKET_BYTES));
      if (!auth || auth.user !== CHAMBER_USER || auth.accessCode !== this.accessCode) {
        this.stats.authFailures++;
        socket.end(); // the printer's only answer to a wrong code: close without a byte
        return;
      }
      stream = { socket, busy: false };
      this.streams.add(stream);
      this.stats.activeStreams = this.streams.size;
      this.stats.peakStreams = Math.max(this.stats.peakStreams, this.streams.size);
    });
    socket.once('close', () => {
      clearTimeout(authTimer);
      this.tlsSockets.delete(socket);
      if (stream) this.streams.delete(stream);
      this.stats.activeStreams = this.streams.size;
      raw.destroy();
      const next = this.waiting.shift();
      this.stats.waiting = this.waiting.length;
      if (next && !next.destroyed) this.startTls(next);
    });
  }

  private write(socket: TLSSocket, data: Buffer): Promise<boolean> {
    return new Promise((resolve) => {
      if (socket.destroyed || !socket.writable) return resolve(false);
      socket.write(data, (err) => resolve(!err && !socket.destroyed));
    });
  }

  /** Header as its own record, then the body in ≤ 4096-byte records, each flushed before the next. */
  private async send(stream: Stream, jpeg: Buffer): Promise<void> {
    stream.busy = true;
    try {
      if (await writeChamberFrameAsync(stream.socket, jpeg)) this.stats.framesSent++;
    } finally {
      stream.busy = false;
    }
  }

  private async sendMalformed(stream: Stream, kind: MalformedKind, jpeg: Buffer): Promise<void> {
    stream.busy = true;
    const { socket } = stream;
    try {
      switch (kind) {
        case 'zero-length':
          await this.write(socket, encodeFrameHeader(0));
          break;
        case 'oversize':
          await this.write(socket, encodeFrameHeader(11 * 1024 * 1024));
          break;
        case 'not-jpeg':
          await this.write(socket, encodeFrameHeader(jpeg.length));
          await this.write(socket, Buffer.alloc(jpeg.length, 0x55));
          break;
        case 'truncated':
          await this.write(socket, encodeFrameHeader(jpeg.length));
          await this.write(socket, jpeg.subarray(0, jpeg.length >> 1));
          socket.end();
          break;
      }
    } finally {
      stream.busy = false;
    }
  }
}
