/**
 * bambucam's RTSP server (RFC 2326, RTSP 1.0): plain TCP, or TLS for RTSPS. Serves H264Stream
 * mounts by path with TCP-interleaved RTP; UDP SETUP is answered 461 (every client we target —
 * ffmpeg, go2rtc, Home Assistant, Frigate, VLC — falls back to or is configured for TCP).
 *
 * Authentication (optional per mount): Digest, plus Basic when allowed. A 401 keeps the socket
 * open, because clients send their first request without credentials even when they have them.
 *
 * Each viewer writes whole access units to its socket; when the socket's buffer is over a limit
 * the unit is dropped and the viewer waits for the next keyframe, so loss happens only at picture
 * boundaries and a slow viewer never slows the others. A viewer congested past `stallMs` is closed.
 *
 * The same class, with `live555: true`, plays a printer's server in the simulator
 * (PROTOCOLS.md §4): its realm, `Public` list, `Content-Base`, `track1`, and sessions that expire
 * after `timeout` seconds without a request or RTCP from the client.
 */
import { randomBytes } from 'node:crypto';
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TlsOptions } from 'node:tls';
import type { H264Stream, H264Subscriber, StreamUnit } from '../hub/h264-stream';
import type { Logger } from '../log';
import { type Credential, newNonce, verifyAuthorization } from '../protocol/rtsp/auth';
import {
  type HeaderValues,
  parseTransports,
  type RtspRequest,
  RtspStreamParser,
  serializeResponse,
} from '../protocol/rtsp/message';
import { buildH264Sdp } from '../protocol/rtsp/sdp';

export interface RtspMount {
  stream: H264Stream;
  /** null: no authentication. */
  credentials: Credential[] | null;
}

export interface ViewerLimits {
  /** Bytes queued in a viewer's socket beyond which new pictures are dropped. */
  maxQueuedBytes?: number;
  /** A viewer that cannot take pictures for this long is disconnected. */
  stallMs?: number;
}

export interface RtspServerOptions {
  log: Logger;
  host: string;
  port: number;
  /** RTSPS when set. */
  tls?: Pick<TlsOptions, 'key' | 'cert' | 'ca'>;
  /** The mount for a path (`/garage-p1s`), or undefined (404). */
  resolve: (path: string) => RtspMount | undefined;
  /** Output name for the stream's counters ('rtsp', 'native_rtsps'). */
  output?: string;
  realm?: string;
  allowBasic?: boolean;
  /** Seconds announced in `Session: id;timeout=`. */
  sessionTimeoutS?: number;
  /** LIVE555 behaviour: expire sessions without keep-alive, its realm, header values and track name. */
  live555?: boolean;
  /** Refuse connections beyond this many (a printer's strict limit); closes them at once. */
  maxConnections?: number;
  /** How long DESCRIBE waits for the stream's first SPS/PPS (an encoder starting). */
  describeWaitMs?: number;
  viewer?: ViewerLimits;
}

export const DEFAULT_MAX_QUEUED_BYTES = 2 * 1024 * 1024;
export const DEFAULT_STALL_MS = 10_000;
export const DESCRIBE_WAIT_MS = 10_000;
export const IDLE_CONNECTION_MS = 60_000;
const PUBLIC = 'OPTIONS, DESCRIBE, SETUP, TEARDOWN, PLAY, PAUSE, GET_PARAMETER, SET_PARAMETER';
export const LIVE555_REALM = 'LIVE555 Streaming Media';

export interface RtspServerStats {
  connections: number;
  connectionsOpen: number;
  refused: number;
  sessionsStarted: number;
  sessionsExpired: number;
  unauthorized: number;
  /** SETUPs answered 461 (UDP asked for). */
  unsupportedTransport: number;
}

/** The path of an RTSP URI, without the query and trailing slash. */
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

class Viewer implements H264Subscriber {
  waitingForKey = true;
  private stallTimer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;

  constructor(
    private readonly conn: Connection,
    readonly stream: H264Stream,
    readonly channel: number,
    private readonly output: string,
    private readonly maxQueuedBytes: number,
    private readonly stallMs: number,
  ) {}

  start(): void {
    this.unsubscribe = this.stream.subscribe(this, this.output);
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    if (this.stallTimer) clearTimeout(this.stallTimer);
    this.stallTimer = null;
  }

  offer(unit: StreamUnit, stream: H264Stream): void {
    const counters = stream.counters(this.output);
    const socket = this.conn.socket;
    if (socket.destroyed) return;
    if (socket.writableLength > this.maxQueuedBytes) {
      counters.dropped++;
      this.waitingForKey = true;
      this.watchStall(counters);
      return;
    }
    if (this.waitingForKey && !unit.key) {
      counters.dropped++;
      return;
    }
    this.waitingForKey = false;
    counters.delivered++;
    socket.write(stream.wire(unit, this.channel));
  }

  /** Congested: close the viewer unless its socket drains within `stallMs`. */
  private watchStall(counters: { stalled: number }): void {
    if (this.stallTimer) return;
    const socket = this.conn.socket;
    const onDrain = () => {
      if (this.stallTimer) clearTimeout(this.stallTimer);
      this.stallTimer = null;
    };
    socket.once('drain', onDrain);
    this.stallTimer = setTimeout(() => {
      this.stallTimer = null;
      socket.off('drain', onDrain);
      if (socket.destroyed || socket.writableLength <= this.maxQueuedBytes) return;
      counters.stalled++;
      this.conn.close(`viewer could not take pictures for ${Math.round(this.stallMs / 1000)} s`);
    }, this.stallMs);
    this.stallTimer.unref();
  }

  close(reason: string): void {
    this.conn.close(reason);
  }
}

interface Session {
  id: string;
  mount: RtspMount;
  path: string;
  channel: number;
  viewer: Viewer | null;
}

class Connection {
  readonly parser = new RtspStreamParser();
  readonly nonce = newNonce();
  session: Session | null = null;
  releaseDemand: (() => void) | null = null;
  lastActivity = Date.now();
  queue: Promise<void> = Promise.resolve();
  private expiry: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    readonly server: RtspServer,
    readonly socket: Socket,
    readonly log: Logger,
  ) {}

  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.log.debug(`closing connection from ${this.socket.remoteAddress}: ${reason}`);
    this.cleanup();
    this.socket.destroy();
  }

  cleanup(): void {
    this.session?.viewer?.stop();
    this.session = null;
    this.releaseDemand?.();
    this.releaseDemand = null;
    if (this.expiry) clearInterval(this.expiry);
    this.expiry = null;
  }

  armExpiry(timeoutS: number): void {
    if (this.expiry) return;
    this.expiry = setInterval(
      () => {
        if (Date.now() - this.lastActivity > timeoutS * 1000) {
          this.server.stats.sessionsExpired++;
          this.close(`session expired: no keep-alive for ${timeoutS} s`);
        }
      },
      Math.min(1000, timeoutS * 250),
    );
    this.expiry.unref();
  }
}

export class RtspServer {
  readonly stats: RtspServerStats = {
    connections: 0,
    connectionsOpen: 0,
    refused: 0,
    sessionsStarted: 0,
    sessionsExpired: 0,
    unauthorized: 0,
    unsupportedTransport: 0,
  };
  private server: Server | null = null;
  private readonly conns = new Set<Connection>();
  private readonly realm: string;

  constructor(private readonly opts: RtspServerOptions) {
    this.realm = opts.realm ?? (opts.live555 ? LIVE555_REALM : 'bambucam');
  }

  get port(): number {
    const addr = this.server?.address();
    return typeof addr === 'object' && addr ? addr.port : 0;
  }

  get scheme(): 'rtsp' | 'rtsps' {
    return this.opts.tls ? 'rtsps' : 'rtsp';
  }

  /** Listen; rejects with the socket error (EADDRINUSE, EACCES) so the caller can disable this output. */
  async start(): Promise<void> {
    const onSocket = (socket: Socket) => this.accept(socket);
    const server = this.opts.tls
      ? createTlsServer(
          {
            ...this.opts.tls,
            minVersion: 'TLSv1.2',
            // RSA key exchange suites too, as printers offer them (PROTOCOLS.md §2).
            ciphers:
              'ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:AES256-GCM-SHA384:AES128-GCM-SHA256',
          },
          onSocket,
        )
      : createNetServer(onSocket);
    server.on('tlsClientError', (err: Error) => this.opts.log.debug(`TLS handshake failed: ${err.message}`));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port, this.opts.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.opts.log.error(`server error: ${err.message}`));
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const c of [...this.conns]) c.close('server stopping');
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Sessions playing right now. */
  get playing(): number {
    let n = 0;
    for (const c of this.conns) if (c.session?.viewer) n++;
    return n;
  }

  private accept(socket: Socket): void {
    this.stats.connections++;
    if (this.opts.maxConnections !== undefined && this.conns.size >= this.opts.maxConnections) {
      this.stats.refused++;
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    const conn = new Connection(this, socket, this.opts.log);
    // A connection that neither plays nor talks for a minute is abandoned (a playing one always writes).
    socket.setTimeout(IDLE_CONNECTION_MS, () => {
      if (!conn.session?.viewer) conn.close('idle: no request for 60 s');
    });
    this.conns.add(conn);
    this.stats.connectionsOpen++;
    socket.on('data', (chunk: Buffer) => {
      conn.lastActivity = Date.now();
      let messages: ReturnType<RtspStreamParser['push']>;
      try {
        messages = conn.parser.push(chunk);
      } catch (err) {
        // Malformed bytes end this one connection, never the server.
        conn.close(`malformed request: ${(err as Error).message}`);
        return;
      }
      for (const m of messages) {
        if (m.kind === 'request') this.handle(conn, m);
        // Interleaved frames from clients are RTCP receiver reports: they only prove liveness.
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      conn.cleanup();
      this.conns.delete(conn);
      this.stats.connectionsOpen--;
    });
  }

  private reply(
    conn: Connection,
    req: RtspRequest,
    status: number,
    headers: HeaderValues = {},
    body?: Buffer,
  ): void {
    if (conn.socket.destroyed) return;
    // Echo only a CSeq that is one (digits); anything else a client sends is never repeated back.
    const cseq = req.headers.cseq;
    const base: HeaderValues = { CSeq: cseq && /^\d{1,9}$/.test(cseq) ? cseq : '0' };
    base.Date = new Date().toUTCString();
    if (this.opts.live555) base.Server = 'LIVE555 Streaming Media v2021.08.24';
    else base.Server = 'bambucam';
    conn.socket.write(serializeResponse(status, { ...base, ...headers }, body));
  }

  private authorized(conn: Connection, req: RtspRequest, mount: RtspMount): boolean {
    if (!mount.credentials) return true;
    const user = verifyAuthorization(req.headers.authorization, req.method, mount.credentials, {
      realm: this.realm,
      nonce: conn.nonce,
      allowBasic: !!this.opts.allowBasic,
    });
    if (user) return true;
    this.stats.unauthorized++;
    const challenges = [`Digest realm="${this.realm}", nonce="${conn.nonce}"`];
    if (this.opts.allowBasic) challenges.push(`Basic realm="${this.realm}"`);
    this.reply(conn, req, 401, { 'WWW-Authenticate': challenges });
    return false;
  }

  /** Requests of one connection are answered in order, even when one waits (DESCRIBE). */
  private handle(conn: Connection, req: RtspRequest): void {
    conn.queue = conn.queue
      .then(() => this.dispatch(conn, req))
      .catch((err: Error) => {
        this.opts.log.warn(`${req.method} failed: ${err.message}`);
        this.reply(conn, req, 500);
      });
  }

  private async dispatch(conn: Connection, req: RtspRequest): Promise<void> {
    switch (req.method) {
      case 'OPTIONS':
        this.reply(conn, req, 200, { Public: PUBLIC });
        return;
      case 'DESCRIBE':
        await this.describe(conn, req);
        return;
      case 'SETUP':
        this.setup(conn, req);
        return;
      case 'PLAY':
        this.play(conn, req);
        return;
      case 'PAUSE': {
        if (!this.checkSession(conn, req)) return;
        conn.session?.viewer?.stop();
        if (conn.session) conn.session.viewer = null;
        this.reply(conn, req, 200, { Session: conn.session?.id ?? '' });
        return;
      }
      case 'GET_PARAMETER':
      case 'SET_PARAMETER':
        this.reply(conn, req, 200, conn.session ? { Session: conn.session.id } : {});
        return;
      case 'TEARDOWN': {
        const id = conn.session?.id;
        conn.cleanup();
        this.reply(conn, req, 200, id ? { Session: id } : {});
        return;
      }
      default:
        this.reply(conn, req, 405, { Allow: PUBLIC });
        return;
    }
  }

  private lookup(uri: string): { mount: RtspMount; path: string } | undefined {
    let path = uriPath(uri);
    let mount = this.opts.resolve(path);
    if (!mount) {
      // SETUP names the track: <path>/track1 (ours) or another control suffix.
      const cut = path.lastIndexOf('/');
      if (cut > 0) {
        path = path.slice(0, cut);
        mount = this.opts.resolve(path);
      }
    }
    return mount ? { mount, path } : undefined;
  }

  private async describe(conn: Connection, req: RtspRequest): Promise<void> {
    const found = this.lookup(req.uri);
    if (!found) {
      this.reply(conn, req, 404);
      return;
    }
    if (!this.authorized(conn, req, found.mount)) return;
    const { stream } = found.mount;
    // Wanting the stream starts its encoder (chamber printers); held until the connection ends.
    conn.releaseDemand ??= stream.want();
    const ready = await stream.waitForParameters(this.opts.describeWaitMs ?? DESCRIBE_WAIT_MS);
    if (!ready || !stream.sps || !stream.pps) {
      this.reply(conn, req, 503, { 'Retry-After': 5 });
      return;
    }
    const base = `${req.uri.replace(/\/+$/, '')}/`;
    const sdp = buildH264Sdp({
      sps: stream.sps,
      pps: stream.pps,
      name: this.opts.live555 ? 'Session streamed by "bambu"' : `bambucam ${stream.name}`,
      control: 'track1',
      // LIVE555 on the printers does not send it; bambucam does, so ffmpeg need not measure the rate.
      framerate: this.opts.live555 ? undefined : (stream.nominalFps ?? undefined),
      address: conn.socket.localAddress?.replace(/^::ffff:/, '') ?? '0.0.0.0',
    });
    this.reply(conn, req, 200, { 'Content-Base': base, 'Content-Type': 'application/sdp' }, Buffer.from(sdp));
  }

  private setup(conn: Connection, req: RtspRequest): void {
    const found = this.lookup(req.uri);
    if (!found) {
      this.reply(conn, req, 404);
      return;
    }
    if (!this.authorized(conn, req, found.mount)) return;
    const transports = parseTransports(req.headers.transport ?? '');
    const tcp = transports.find((t) => t.lower === 'tcp' && !t.multicast);
    if (!tcp) {
      this.stats.unsupportedTransport++;
      this.reply(conn, req, 461);
      return;
    }
    if (conn.session && conn.session.path !== found.path) {
      this.reply(conn, req, 459);
      return;
    }
    const channel = tcp.interleaved?.[0] ?? 0;
    const timeoutS = this.opts.sessionTimeoutS ?? (this.opts.live555 ? 65 : 60);
    conn.releaseDemand ??= found.mount.stream.want();
    conn.session ??= {
      id: randomBytes(4).toString('hex').toUpperCase(),
      mount: found.mount,
      path: found.path,
      channel,
      viewer: null,
    };
    conn.session.channel = channel;
    const ssrc = found.mount.stream.ssrc.toString(16).toUpperCase().padStart(8, '0');
    this.reply(conn, req, 200, {
      Transport: `RTP/AVP/TCP;unicast;interleaved=${channel}-${channel + 1};ssrc=${ssrc}`,
      Session: `${conn.session.id};timeout=${timeoutS}`,
    });
    if (this.opts.live555) conn.armExpiry(timeoutS);
  }

  private checkSession(conn: Connection, req: RtspRequest): boolean {
    const id = (req.headers.session ?? '').split(';')[0].trim();
    if (!conn.session || id !== conn.session.id) {
      this.reply(conn, req, 454);
      return false;
    }
    return true;
  }

  private play(conn: Connection, req: RtspRequest): void {
    if (!this.checkSession(conn, req)) return;
    const session = conn.session!;
    if (!this.authorized(conn, req, session.mount)) return;
    const { stream } = session.mount;
    const first = stream.currentGop[0];
    const trackUrl = `${req.uri.replace(/\/+$/, '')}/track1`;
    const rtpInfo = first
      ? `url=${trackUrl};seq=${first.firstSeq};rtptime=${first.timestamp}`
      : `url=${trackUrl}`;
    this.reply(conn, req, 200, {
      Session: session.id,
      Range: 'npt=0.000-',
      'RTP-Info': rtpInfo,
    });
    if (!session.viewer) {
      const limits = this.opts.viewer ?? {};
      session.viewer = new Viewer(
        conn,
        stream,
        session.channel,
        this.opts.output ?? 'rtsp',
        limits.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES,
        limits.stallMs ?? DEFAULT_STALL_MS,
      );
      this.stats.sessionsStarted++;
      session.viewer.start();
    }
  }
}
