/**
 * One UDP socket for every WebRTC peer of the gateway, so one fixed port (default 8555) is all a
 * firewall rule or a Docker `-p 8555:8555/udp` has to open.
 *
 * Datagrams are routed to ICE sessions: a STUN binding request names its session by the ufrag in
 * USERNAME; once the session has checked the request's MESSAGE-INTEGRITY, the sender's address is
 * bound to that session and everything else from that address (DTLS, SRTP, SRTCP, more STUN) goes
 * there too. Datagrams from addresses no session knows are dropped and counted. The gateway never
 * sends first: it answers addresses that reached it with a valid request (bambucam is an ICE-lite
 * agent), so it sends no packet anywhere else.
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { Logger } from '../log';
import { bindingRequestUfrag, isStun } from './stun';

export type UdpAddress = [host: string, port: number];

/** A session's side of the mux: where its datagrams go, and how it checks a request's integrity. */
export interface MuxSessionHooks {
  onDatagram(data: Buffer, from: UdpAddress): void;
  /** True when the binding request carries this session's MESSAGE-INTEGRITY (RFC 8489 §14.5). */
  authenticate(request: Buffer): boolean;
}

/** Addresses one session may use at once (a peer has a few candidates; more is somebody guessing). */
const MAX_REMOTES_PER_SESSION = 8;

export interface UdpMuxOptions {
  host: string;
  port: number;
  log: Logger;
}

export class MuxSession {
  lastReceivedAt = Date.now();
  packetsIn = 0;
  packetsOut = 0;
  bytesIn = 0;
  bytesOut = 0;
  closed = false;
  /** Remote addresses bound to this session, `host|port`. */
  readonly remotes = new Set<string>();

  constructor(
    readonly ufrag: string,
    readonly hooks: MuxSessionHooks,
    private readonly mux: UdpMux,
  ) {}

  send(data: Buffer, to: UdpAddress): void {
    if (this.closed) return;
    this.packetsOut++;
    this.bytesOut += data.length;
    this.mux.sendTo(data, to);
  }

  /** The address the peer last used, for the status (never a secret: it is the viewer's address). */
  get remote(): string | null {
    const last = [...this.remotes].at(-1);
    return last ? last.replace('|', ':') : null;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.mux.forget(this);
  }
}

export class UdpMux {
  private socket: Socket | null = null;
  private readonly byUfrag = new Map<string, MuxSession>();
  private readonly byAddress = new Map<string, MuxSession>();
  /** Datagrams no session claimed (unknown ufrag, unknown address, failed integrity). */
  unclaimed = 0;
  sendErrors = 0;

  constructor(private readonly opts: UdpMuxOptions) {}

  /** Bind the socket; rejects with the bind error (EADDRINUSE, EACCES, EADDRNOTAVAIL). */
  async start(): Promise<void> {
    const socket = createSocket({ type: isIPv6(this.opts.host) ? 'udp6' : 'udp4' });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ port: this.opts.port, address: this.opts.host }, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    socket.on('error', (err) => {
      this.sendErrors++;
      this.opts.log.debug(`udp: ${err.message}`);
    });
    socket.on('message', (data, rinfo) => this.receive(data, rinfo.address, rinfo.port));
    this.socket = socket;
  }

  get port(): number {
    return this.socket?.address().port ?? 0;
  }

  get sessions(): number {
    return this.byUfrag.size;
  }

  /** Register an ICE session by its local ufrag. */
  open(ufrag: string, hooks: MuxSessionHooks): MuxSession {
    if (this.byUfrag.has(ufrag)) throw new Error(`ICE ufrag ${ufrag} is already in use`);
    const session = new MuxSession(ufrag, hooks, this);
    this.byUfrag.set(ufrag, session);
    return session;
  }

  /** @internal MuxSession.close() */
  forget(session: MuxSession): void {
    if (this.byUfrag.get(session.ufrag) === session) this.byUfrag.delete(session.ufrag);
    for (const key of session.remotes) if (this.byAddress.get(key) === session) this.byAddress.delete(key);
    session.remotes.clear();
  }

  /** @internal MuxSession.send() */
  sendTo(data: Buffer, [host, port]: UdpAddress): void {
    this.socket?.send(data, port, host, (err) => {
      if (err) this.sendErrors++;
    });
  }

  private receive(data: Buffer, host: string, port: number): void {
    const key = `${host}|${port}`;
    let session = this.byAddress.get(key);
    if (isStun(data)) {
      const ufrag = bindingRequestUfrag(data);
      const named = ufrag === null ? undefined : this.byUfrag.get(ufrag);
      if (named && named !== session) {
        // A new path to a session (or a new session from a reused address): bind it once it is proven.
        if (!named.hooks.authenticate(data) || named.remotes.size >= MAX_REMOTES_PER_SESSION) {
          this.unclaimed++;
          return;
        }
        if (session) session.remotes.delete(key);
        this.byAddress.set(key, named);
        named.remotes.add(key);
        session = named;
      }
    }
    if (!session) {
      this.unclaimed++;
      return;
    }
    session.lastReceivedAt = Date.now();
    session.packetsIn++;
    session.bytesIn += data.length;
    session.hooks.onDatagram(data, [host, port]);
  }

  async stop(): Promise<void> {
    for (const s of [...this.byUfrag.values()]) s.close();
    const socket = this.socket;
    this.socket = null;
    if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
}
