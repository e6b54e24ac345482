/**
 * The native chamber-image server (TLS, default :6000): one printer's picture re-served with the
 * printer's own protocol (PROTOCOLS.md §2, §3), so ha-bambulab, Bambu Studio's camera library,
 * PandaProxy and scripts connect to bambucam as if it were the printer.
 *
 * Auth as the printer: an 80-byte packet within 10 s; on anything wrong the connection is closed
 * without a byte. Each viewer is one subscriber of the JPEG hub (output 'native'): a new viewer gets
 * the latest frame at once, holds at most one frame in flight and one pending (newest wins), and the
 * hub drops a viewer that stops reading. Viewers never touch the upstream socket or each other.
 *
 * Connections that have not authenticated yet are admitted by the output's AddressGuard (per-address
 * and total caps apart from viewers, stepped delays and refusal after wrong codes, counters and
 * aggregated log lines); viewers are capped separately, so strangers can neither lock them out nor
 * guess codes quickly (issue 13).
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
import { AddressGuard, type GuardLimits, type GuardStatusJson } from './guard/address-guard';
import { FreshPacer, type PacerStatusJson } from './pacing/fresh-pacer';
import { type KernelQueues, sharedKernelQueues } from './pacing/kernel-queues';

export const AUTH_TIMEOUT_MS = 10_000;
/** Authenticated viewers per printer; more are closed after authenticating, so memory stays bounded. */
export const MAX_NATIVE_VIEWERS = 256;

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
  maxViewers?: number;
  /** Per-address limits on connections that have not authenticated (defaults: DEFAULT_GUARD_LIMITS). */
  limits?: Partial<GuardLimits>;
  /** Where the pacing of slow viewers reads the kernel's queues; null: no pacing. Default: shared. */
  kernelQueues?: KernelQueues | null;
}

export type ChamberServerState = 'starting' | 'listening' | 'failed' | 'stopped';

export interface NativeViewerJson {
  remote: string;
  since: string;
  frames_sent: number;
  frames_dropped: number;
  /** Pacing of this viewer: a slow one gets fewer, fresh pictures. */
  pacing: PacerStatusJson;
}

export interface ChamberServerStatusJson {
  state: ChamberServerState;
  reason: string | null;
  host: string;
  port: number;
  viewers: NativeViewerJson[];
  connections_total: number;
  auth_failures: number;
  /** Valid codes closed because the viewer limit was reached. */
  viewers_refused: number;
  /** Per-address limits: pending connections, failures, refusals, delays. */
  guard: GuardStatusJson;
}

interface Viewer {
  socket: TLSSocket;
  remote: string;
  since: number;
  framesSent: number;
  sub: Subscription | null;
  pacer: FreshPacer;
}

const digest = (code: string) => createHash('sha256').update(code, 'latin1').digest();

export class ChamberServer {
  state: ChamberServerState = 'starting';
  reason: string | null = null;
  connectionsTotal = 0;
  viewersRefused = 0;
  readonly guard: AddressGuard;
  private readonly server: Server;
  private readonly context: SecureContext;
  private readonly viewers = new Set<Viewer>();
  private readonly sockets = new Set<Socket>();
  private readonly codeDigests: Buffer[];
  private readonly jfif = new WeakMap<Frame, Buffer>();

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
    this.guard = new AddressGuard({ log: opts.log, limits: opts.limits });
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
    this.guard.stop();
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
        pacing: v.pacer.status(),
      })),
      connections_total: this.connectionsTotal,
      auth_failures: this.guard.status().failures,
      viewers_refused: this.viewersRefused,
      guard: this.guard.status(),
    };
  }

  private onConnection(raw: Socket): void {
    this.connectionsTotal++;
    raw.on('error', () => {});
    if (this.state !== 'listening') {
      raw.destroy();
      return;
    }
    const admission = this.guard.admit(raw.remoteAddress, () => raw.destroy());
    if (!admission.ok) {
      raw.destroy(); // refused (counted and logged by the guard): closed before any TLS
      return;
    }
    const attempt = admission.attempt;
    this.sockets.add(raw);
    const remote = `${raw.remoteAddress}:${raw.remotePort}`;
    const socket = new TLSSocket(raw, { isServer: true, secureContext: this.context });
    // Garbage instead of TLS or a failed handshake ends in 'error': the socket is simply closed.
    socket.on('error', () => socket.destroy());
    let received: Buffer = Buffer.alloc(0);
    let viewer: Viewer | null = null;
    let judging = false;
    // The printer waits at most 10 s for the auth packet, handshake included (PROTOCOLS.md §3).
    const timer = setTimeout(() => {
      if (!viewer && !judging) socket.destroy();
    }, this.opts.authTimeoutMs ?? AUTH_TIMEOUT_MS);
    const judge = (packet: Buffer) => {
      if (socket.destroyed) return;
      if (!this.authorized(packet)) {
        attempt.failed();
        attempt.closed(); // one try per connection: it no longer counts as waiting
        socket.end(); // the printer's only answer to a wrong code: close without a byte
        setTimeout(() => socket.destroy(), 2000).unref();
        return;
      }
      attempt.authenticated();
      if (this.viewers.size >= (this.opts.maxViewers ?? MAX_NATIVE_VIEWERS)) {
        this.viewersRefused++;
        this.opts.log.warn(`viewer ${remote} closed: ${this.viewers.size} viewers is the limit`);
        socket.destroy();
        return;
      }
      viewer = this.addViewer(socket, raw, remote);
    };
    const onData = (chunk: Buffer) => {
      if (viewer || judging) return; // a client says nothing after auth; whatever it sends is read and ignored
      received = received.length ? Buffer.concat([received, chunk]) : chunk;
      if (received.length < AUTH_PACKET_BYTES) return;
      clearTimeout(timer);
      judging = true;
      const packet = received.subarray(0, AUTH_PACKET_BYTES);
      received = Buffer.alloc(0);
      // An address that failed often waits before its code is checked, right or wrong alike.
      const delay = attempt.verdictDelayMs();
      if (delay > 0) setTimeout(() => judge(packet), delay).unref();
      else judge(packet);
    };
    socket.on('data', onData);
    socket.once('close', () => {
      clearTimeout(timer);
      attempt.closed();
      this.sockets.delete(raw);
      raw.destroy();
      if (!viewer) return;
      viewer.sub?.unsubscribe();
      viewer.pacer.close();
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

  private addViewer(socket: TLSSocket, raw: Socket, remote: string): Viewer {
    limitRecordSize(socket);
    socket.setNoDelay(true);
    const kernel = this.opts.kernelQueues === undefined ? sharedKernelQueues() : this.opts.kernelQueues;
    const viewer: Viewer = {
      socket,
      remote,
      since: Date.now(),
      framesSent: 0,
      sub: null,
      pacer: new FreshPacer(raw, kernel),
    };
    this.viewers.add(viewer);
    this.opts.log.info(`viewer ${remote} connected (${this.viewers.size} now)`);
    viewer.sub = this.opts.hub.subscribe(
      {
        send: (frame, done) => {
          const jpeg = this.jfifOf(frame);
          // Done when the kernel has passed the picture on (slow viewers), not when it took it.
          viewer.pacer.deliver(
            jpeg.length,
            (written) =>
              writeChamberFrame(socket, jpeg, (ok) => {
                if (ok) viewer.framesSent++;
                written(ok);
              }),
            done,
          );
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
