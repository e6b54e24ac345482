/**
 * bambucam's RTSP server (RFC 2326, RTSP 1.0): plain TCP, or TLS for RTSPS. Serves H264Stream
 * mounts by path with TCP-interleaved RTP; UDP SETUP is answered 461 (every client we target —
 * ffmpeg, go2rtc, Home Assistant, Frigate, VLC — falls back to or is configured for TCP).
 *
 * Authentication (optional per mount): Digest, plus Basic when allowed. A 401 keeps the socket
 * open, because clients send their first request without credentials even when they have them.
 * With a guard (issue 13), connections are admitted per address before anything else, wrong
 * credentials are counted and slowed down per address, and a connection that gave a few wrong
 * answers is closed after its 401.
 *
 * Each playing session is a reader of the stream (viewer.ts): whole access units through a bounded
 * queue, loss only at picture boundaries, a congested viewer closed past `stallMs`. RTP numbering
 * and the interleaved wire buffers are made once per stream by a packetizer that exists only while
 * the stream has a viewer here (rtp-packetizer.ts).
 *
 * The native RTSPS output uses it with the printer's realm, path and codes; the simulated printers
 * have a server of their own (src/simulator/live555-server.ts), so a bug here is not mirrored there.
 */
import { randomBytes } from 'node:crypto';
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TlsOptions } from 'node:tls';
import type { H264Stream } from '../../hub/h264-stream';
import type { Logger } from '../../log';
import { listenOn } from '../../net/listen';
import { verifyAuthorization } from '../../protocol/rtsp/auth';
import {
  type HeaderValues,
  parseTransports,
  type RtspRequest,
  type RtspStreamParser,
  serializeResponse,
  uriPath,
} from '../../protocol/rtsp/message';
import { buildH264Sdp } from '../../protocol/rtsp/sdp';
import { TLS_SERVER_CIPHERS } from '../../tls/ciphers';
import type { SocketGuard } from '../guard/socket-guard';
import { Connection } from './connection';
import type { RtspMount } from './mount';
import { RtpPacketizer } from './rtp-packetizer';
import { Viewer, type ViewerLimits } from './viewer';

export type { RtspMount } from './mount';
export type { ViewerLimits } from './viewer';

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
  /** How long DESCRIBE waits for the stream's first SPS/PPS (an encoder starting). */
  describeWaitMs?: number;
  viewer?: ViewerLimits;
  /** Per-address limits on connections that have not authenticated (or started playing) yet. */
  guard?: SocketGuard;
}

export const DESCRIBE_WAIT_MS = 10_000;
export const IDLE_CONNECTION_MS = 60_000;
/** A TLS handshake not done within this long is dropped (Node's default is 120 s). */
export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;
const PUBLIC = 'OPTIONS, DESCRIBE, SETUP, TEARDOWN, PLAY, PAUSE, GET_PARAMETER, SET_PARAMETER';

export interface RtspServerStats {
  connections: number;
  connectionsOpen: number;
  sessionsStarted: number;
  unauthorized: number;
  /** SETUPs answered 461 (UDP asked for). */
  unsupportedTransport: number;
  /** Connections closed after wrong credentials (a few, or from a penalised address). */
  closedAfterFailures: number;
}

export class RtspServer {
  readonly stats: RtspServerStats = {
    connections: 0,
    connectionsOpen: 0,
    sessionsStarted: 0,
    unauthorized: 0,
    unsupportedTransport: 0,
    closedAfterFailures: 0,
  };
  private server: Server | null = null;
  private readonly conns = new Set<Connection>();
  private readonly realm: string;
  /** One packetizer per stream with a viewer on this server. */
  private readonly packetizers = new Map<H264Stream, RtpPacketizer>();

  constructor(private readonly opts: RtspServerOptions) {
    this.realm = opts.realm ?? 'bambucam';
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
            ciphers: TLS_SERVER_CIPHERS,
            handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS,
          },
          onSocket,
        )
      : createNetServer(onSocket);
    // TLS: admitted (or refused) per address as TCP connections, before the handshake; plain TCP
    // in accept(), which is the first 'connection' listener.
    if (this.opts.tls) this.opts.guard?.watch(server);
    server.on('tlsClientError', (err: Error) => this.opts.log.debug(`TLS handshake failed: ${err.message}`));
    await listenOn(server, this.opts.port, this.opts.host);
    server.on('error', (err) => this.opts.log.error(`server error: ${err.message}`));
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const c of [...this.conns]) c.close('server stopping');
    this.opts.guard?.stop();
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
    const guard = this.opts.guard;
    if (guard && !this.opts.tls && !guard.admit(socket)) return;
    socket.setNoDelay(true);
    const conn = new Connection(socket, this.opts.log, () => this.releasePacketizers());
    conn.attempt = this.opts.guard?.attemptFor(socket);
    // A connection that neither plays nor talks for a minute is abandoned (a playing one always writes).
    socket.setTimeout(IDLE_CONNECTION_MS, () => {
      if (!conn.session?.viewer) conn.close('idle: no request for 60 s');
    });
    this.conns.add(conn);
    this.stats.connectionsOpen++;
    socket.on('data', (chunk: Buffer) => {
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
      this.releasePacketizers();
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
    base.Server = 'bambucam';
    conn.socket.write(serializeResponse(status, { ...base, ...headers }, body));
  }

  private async authorized(conn: Connection, req: RtspRequest, mount: RtspMount): Promise<boolean> {
    if (!mount.credentials) return true;
    const offered = req.headers.authorization !== undefined;
    const attempt = conn.attempt;
    // An address that failed often waits before its answer is checked, right or wrong alike.
    const delay = offered && attempt?.isOpen ? attempt.verdictDelayMs() : 0;
    if (delay > 0) {
      await new Promise((r) => setTimeout(r, delay).unref());
      if (conn.socket.destroyed) return false;
    }
    const user = verifyAuthorization(req.headers.authorization, req.method, mount.credentials, {
      realm: this.realm,
      nonce: conn.nonce,
      allowBasic: !!this.opts.allowBasic,
    });
    if (user) {
      attempt?.authenticated();
      return true;
    }
    this.stats.unauthorized++;
    const challenges = [`Digest realm="${this.realm}", nonce="${conn.nonce}"`];
    if (this.opts.allowBasic) challenges.push(`Basic realm="${this.realm}"`);
    this.reply(conn, req, 401, { 'WWW-Authenticate': challenges });
    // No credentials is the usual first request; wrong ones are a failure, and a few end the connection.
    if (offered && attempt && !attempt.failed().mayRetry) {
      this.stats.closedAfterFailures++;
      conn.socket.end();
    }
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
        await this.setup(conn, req);
        return;
      case 'PLAY':
        await this.play(conn, req);
        return;
      case 'PAUSE': {
        if (!this.checkSession(conn, req)) return;
        conn.stopViewer();
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
    if (!(await this.authorized(conn, req, found.mount))) return;
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
      name: `bambucam ${stream.name}`,
      control: 'track1',
      // The printers' LIVE555 does not send it; bambucam does, so ffmpeg need not measure the rate.
      framerate: stream.nominalFps ?? undefined,
      address: conn.socket.localAddress?.replace(/^::ffff:/, '') ?? '0.0.0.0',
    });
    this.reply(conn, req, 200, { 'Content-Base': base, 'Content-Type': 'application/sdp' }, Buffer.from(sdp));
  }

  private async setup(conn: Connection, req: RtspRequest): Promise<void> {
    const found = this.lookup(req.uri);
    if (!found) {
      this.reply(conn, req, 404);
      return;
    }
    if (!(await this.authorized(conn, req, found.mount))) return;
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
    const timeoutS = this.opts.sessionTimeoutS ?? 60;
    conn.releaseDemand ??= found.mount.stream.want();
    conn.session ??= {
      id: randomBytes(4).toString('hex').toUpperCase(),
      mount: found.mount,
      path: found.path,
      channel,
      viewer: null,
    };
    conn.session.channel = channel;
    const ssrc = this.packetizerFor(found.mount.stream).ssrc.toString(16).toUpperCase().padStart(8, '0');
    this.reply(conn, req, 200, {
      Transport: `RTP/AVP/TCP;unicast;interleaved=${channel}-${channel + 1};ssrc=${ssrc}`,
      Session: `${conn.session.id};timeout=${timeoutS}`,
    });
  }

  private checkSession(conn: Connection, req: RtspRequest): boolean {
    const id = (req.headers.session ?? '').split(';')[0].trim();
    if (!conn.session || id !== conn.session.id) {
      this.reply(conn, req, 454);
      return false;
    }
    return true;
  }

  private async play(conn: Connection, req: RtspRequest): Promise<void> {
    if (!this.checkSession(conn, req)) return;
    const session = conn.session!;
    if (!(await this.authorized(conn, req, session.mount))) return;
    if (conn.socket.destroyed || conn.session !== session) return;
    // A viewer now (authenticated, or on a mount without credentials): no longer counted as waiting.
    conn.attempt?.authenticated();
    const { stream } = session.mount;
    const packetizer = this.packetizerFor(stream);
    const first = stream.currentGop[0];
    const trackUrl = `${req.uri.replace(/\/+$/, '')}/track1`;
    const rtpInfo = first
      ? `url=${trackUrl};seq=${packetizer.firstSeq(first)};rtptime=${first.timestamp}`
      : `url=${trackUrl}`;
    this.reply(conn, req, 200, {
      Session: session.id,
      Range: 'npt=0.000-',
      'RTP-Info': rtpInfo,
    });
    if (!session.viewer) {
      session.viewer = new Viewer(
        conn.socket,
        stream,
        packetizer,
        session.channel,
        this.opts.output ?? 'rtsp',
        this.opts.viewer ?? {},
        (reason) => conn.close(reason),
      );
      this.stats.sessionsStarted++;
      session.viewer.start();
    }
  }

  /** The stream's packetizer on this server, made on first use (SETUP, PLAY). */
  private packetizerFor(stream: H264Stream): RtpPacketizer {
    let p = this.packetizers.get(stream);
    if (!p) {
      p = new RtpPacketizer(stream);
      this.packetizers.set(stream, p);
    }
    return p;
  }

  /** Dispose of packetizers whose stream no session (set up or playing) uses any more. */
  private releasePacketizers(): void {
    const playing = new Set<H264Stream>();
    for (const c of this.conns) if (c.session) playing.add(c.session.mount.stream);
    for (const [stream, p] of this.packetizers) {
      if (playing.has(stream)) continue;
      p.dispose();
      this.packetizers.delete(stream);
    }
  }
}
