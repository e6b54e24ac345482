/**
 * The native chamber-image server (TLS, default :6000): one printer's picture re-served with the
 * printer's own protocol (PROTOCOLS.md §2, §3), so ha-bambulab, Bambu Studio's camera library,
 * PandaProxy and scripts connect to bambucam as if it were the printer.
 *
 * Auth as the printer: an 80-byte packet within 10 s; on anything wrong the connection is closed
 * without a byte. Each viewer is one subscriber of the JPEG hub (output 'native'): a new viewer gets
 * the latest frame at once, holds at most one frame in flight and one pending (newest wins), and the
 * hub drops a viewer that stops reading. Viewers never touch the upstream socket or each other.
 */

import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { createSecureContext, type SecureContext, TLSSocket } from 'node:tls';
import type { Frame } from '../hub/frame';
import type { JpegHub, Subscription } from '../hub/jpeg-hub';
import type { Logger } from '../log';
import { limitRecordSize, writeChamberFrame } from '../net/chamber-frame-writer';
import { listenOrExplain } from '../net/listen';
import { AUTH_PACKET_BYTES, CHAMBER_USER, decodeAuthPacket } from '../protocol/chamber';
import { ensureJfif } from '../protocol/jpeg';
import type { KeyAndCert } from '../tls/certs';
import { TLS_SERVER_CIPHERS } from '../tls/ciphers';

export const AUTH_TIMEOUT_MS = 10_000;
/** Connections per printer (authenticating or streaming); more are closed at once, so memory stays bounded. */
export const MAX_NATIVE_CLIENTS = 256;
const AUTH_FAILURE_LOG_EVERY_MS = 10_000;

export interface ChamberServerOptions {
  host: string;
  port: number;
  /** Key and certificate chain (leaf `CN=<serial>` first). */
  identity: KeyAndCert;
  hub: JpegHub;
  /** The codes a viewer may send: the printer's access code and/or the viewer code. */
  codes: readonly string[];
  log: Logger;
  authTimeoutMs?: number;
  maxClients?: number;
}

export type ChamberServerState = 'starting' | 'listening' | 'failed' | 'stopped';

export interface NativeViewerJson {
  remote: string;
  since: string;
  frames_sent: number;
  frames_dropped: number;
}

export interface ChamberServerStatusJson {
  state: ChamberServerState;
  reason: string | null;
  host: string;
  port: number;
  viewers: NativeViewerJson[];
  connections_total: number;
  auth_failures: number;
}

interface Viewer {
  socket: TLSSocket;
  remote: string;
  since: number;
  framesSent: number;
  sub: Subscription | null;
}

const digest = (code: string) => createHash('sha256').update(code, 'latin1').digest();

export class ChamberServer {
  state: ChamberServerState = 'starting';
  reason: string | null = null;
  connectionsTotal = 0;
  authFailures = 0;
  private readonly server: Server;
  private readonly context: SecureContext;
  private readonly viewers = new Set<Viewer>();
  private readonly sockets = new Set<Socket>();
  private readonly codeDigests: Buffer[];
  private readonly jfif = new WeakMap<Frame, Buffer>();
  private lastAuthLogAt = 0;
  private unloggedAuthFailures = 0;

  constructor(private readonly opts: ChamberServerOptions) {
    this.codeDigests = opts.codes.map(digest);
    this.context = createSecureContext({
      key: opts.identity.key,
      cert: opts.identity.cert,
      minVersion: 'TLSv1.2',
      ciphers: TLS_SERVER_CIPHERS,
      honorCipherOrder: true,
    });
    this.server = createServer((raw) => this.onConnection(raw));
  }

  get port(): number {
    const addr = this.server.address();
    return addr && typeof addr !== 'string' ? addr.port : this.opts.port;
  }

  get viewerCount(): number {
    return this.viewers.size;
  }

  /** Listen; a failure leaves state 'failed' with a reason and rejects with the same words. */
  async start(): Promise<void> {
    const { host, port, log } = this.opts;
    try {
      await listenOrExplain(this.server, port, host, {
        port: 'native.chamber.port',
        host: 'native.chamber.host',
      });
    } catch (err) {
      this.state = 'failed';
      this.reason = (err as Error).message;
      throw err;
    }
    this.server.on('error', (err) => log.error(`server error: ${err.message}`));
    this.state = 'listening';
    this.reason = null;
  }

  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    const wasListening = this.state === 'listening';
    this.state = 'stopped';
    for (const v of this.viewers) v.sub?.unsubscribe();
    for (const s of this.sockets) s.destroy();
    if (wasListening) await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  status(): ChamberServerStatusJson {
    return {
      state: this.state,
      reason: this.reason,
      host: this.opts.host,
      port: this.port,
      viewers: [...this.viewers].map((v) => ({
        remote: v.remote,
        since: new Date(v.since).toISOString(),
        frames_sent: v.framesSent,
        frames_dropped: v.sub?.dropped ?? 0,
      })),
      connections_total: this.connectionsTotal,
      auth_failures: this.authFailures,
    };
  }

  private onConnection(raw: Socket): void {
    this.connectionsTotal++;
    raw.on('error', () => {});
    if (this.sockets.size >= (this.opts.maxClients ?? MAX_NATIVE_CLIENTS) || this.state !== 'listening') {
      raw.destroy();
      return;
    }
    this.sockets.add(raw);
    const remote = `${raw.remoteAddress}:${raw.remotePort}`;
    const socket = new TLSSocket(raw, { isServer: true, secureContext: this.context });
    // Garbage instead of TLS or a failed handshake ends in 'error': the socket is simply closed.
    socket.on('error', () => socket.destroy());
    let received: Buffer = Buffer.alloc(0);
    let viewer: Viewer | null = null;
    // The printer waits at most 10 s for the auth packet, handshake included (PROTOCOLS.md §3).
    const timer = setTimeout(() => {
      if (!viewer) socket.destroy();
    }, this.opts.authTimeoutMs ?? AUTH_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      if (viewer) return; // a client says nothing after auth; whatever it sends is read and ignored
      received = received.length ? Buffer.concat([received, chunk]) : chunk;
      if (received.length < AUTH_PACKET_BYTES) return;
      clearTimeout(timer);
      if (!this.authorized(received.subarray(0, AUTH_PACKET_BYTES))) {
        this.authFailed(remote);
        socket.end(); // the printer's only answer to a wrong code: close without a byte
        setTimeout(() => socket.destroy(), 2000).unref();
        return;
      }
      received = Buffer.alloc(0);
      viewer = this.addViewer(socket, remote);
    };
    socket.on('data', onData);
    socket.once('close', () => {
      clearTimeout(timer);
      this.sockets.delete(raw);
      raw.destroy();
      if (!viewer) return;
      viewer.sub?.unsubscribe();
      this.viewers.delete(viewer);
      this.opts.log.info(`viewer ${remote} left after ${viewer.framesSent} frames`);
    });
  }

  /** Header words, user and code; the code compared in constant time against every accepted code. */
  private authorized(packet: Buffer): boolean {
    const auth = decodeAuthPacket(packet);
    if (!auth) return false;
    const offered = digest(auth.accessCode);
    let match = false;
    for (const d of this.codeDigests) match = timingSafeEqual(offered, d) || match;
    return match && auth.user === CHAMBER_USER;
  }

  private authFailed(remote: string): void {
    this.authFailures++;
    this.unloggedAuthFailures++;
    const now = Date.now();
    if (now - this.lastAuthLogAt < AUTH_FAILURE_LOG_EVERY_MS) return;
    const n = this.unloggedAuthFailures;
    this.unloggedAuthFailures = 0;
    this.lastAuthLogAt = now;
    this.opts.log.warn(
      `refused ${n === 1 ? `a viewer from ${remote}` : `${n} viewers (last from ${remote})`}: wrong user or code, closed without a byte as the printer does`,
    );
  }

  private addViewer(socket: TLSSocket, remote: string): Viewer {
    limitRecordSize(socket);
    socket.setNoDelay(true);
    const viewer: Viewer = { socket, remote, since: Date.now(), framesSent: 0, sub: null };
    this.viewers.add(viewer);
    this.opts.log.info(`viewer ${remote} connected (${this.viewers.size} now)`);
    viewer.sub = this.opts.hub.subscribe(
      {
        send: (frame, done) => {
          writeChamberFrame(socket, this.jfifOf(frame), (ok) => {
            if (!ok) return;
            viewer.framesSent++;
            done();
          });
        },
        close: (reason) => {
          this.opts.log.info(`viewer ${remote} dropped: ${reason}`);
          socket.destroy();
        },
      },
      { output: 'native' },
    );
    return viewer;
  }

  /** Printers send JFIF (ha-bambulab drops anything else); frames made by bambucam are made so once. */
  private jfifOf(frame: Frame): Buffer {
    let jpeg = this.jfif.get(frame);
    if (!jpeg) {
      jpeg = ensureJfif(frame.jpeg);
      this.jfif.set(frame, jpeg);
    }
    return jpeg;
  }
}
