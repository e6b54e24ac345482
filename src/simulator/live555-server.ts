/**
 * The simulated X1's RTSPS server: one mount (`/streaming/live/1`) answered the way the printers'
 * LIVE555 server answers (PROTOCOLS.md §4): its `Server` header, `Public` list and realm, Digest
 * without qop and a 32-hex nonce, `Content-Base`, `track1`, `Session: <id>;timeout=<s>` that expires
 * when the client sends neither a request nor RTCP for that long, TCP-interleaved RTP only (UDP
 * SETUP → 461), and a strict connection limit (connections beyond it are closed at once).
 *
 * Its own code on purpose, built only on `protocol/rtsp/`: the gateway's RTSP server must not be the
 * printer it is tested against (issue 9). A 401 keeps the socket open, as LIVE555 does.
 */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { createServer, type Server } from 'node:tls';
import type { Logger } from '../log';
import { listenOn } from '../net/listen';
import { type Credential, newNonce, verifyAuthorization } from '../protocol/rtsp/auth';
import {
  type HeaderValues,
  parseTransports,
  type RtspRequest,
  RtspStreamParser,
  serializeResponse,
  uriPath,
} from '../protocol/rtsp/message';
import { LIVE555_REALM } from '../protocol/rtsp/printer-path';
import { buildH264Sdp } from '../protocol/rtsp/sdp';
import type { KeyAndCert } from '../tls/certs';
import { TLS_SERVER_CIPHERS } from '../tls/ciphers';
import type { FeedPicture, H264Feed } from './h264-feed';

const SERVER_HEADER = 'LIVE555 Streaming Media v2021.08.24';
const PUBLIC = 'OPTIONS, DESCRIBE, SETUP, TEARDOWN, PLAY, PAUSE, GET_PARAMETER, SET_PARAMETER';
/** How long DESCRIBE waits for the encoder's first SPS/PPS. */
const DESCRIBE_WAIT_MS = 10_000;
/** A connection that neither plays nor talks for this long is abandoned. */
const IDLE_CONNECTION_MS = 60_000;
/** Bytes queued for a client beyond which pictures are dropped until the next keyframe. */
const MAX_QUEUED_BYTES = 2 * 1024 * 1024;

export interface Live555ServerOptions {
  log: Logger;
  host: string;
  port: number;
  identity: KeyAndCert;
  /** The one stream path, `/streaming/live/1` on a printer. */
  path: string;
  /** Read on every request, so a changed access code applies at once. */
  credentials: () => Credential[];
  feed: H264Feed;
  /** Seconds in `Session: <id>;timeout=`, and how long a silent session lives. */
  sessionTimeoutS: number;
  /** Connections allowed at once; more are closed as soon as they arrive (0: every one). */
  maxConnections: number;
}

export interface Live555Stats {
  connections: number;
  connectionsOpen: number;
  refused: number;
  sessionsStarted: number;
  sessionsExpired: number;
  unauthorized: number;
}

interface Session {
  id: string;
  channel: number;
  /** Set while playing: stops the delivery of pictures. */
  unsubscribe: (() => void) | null;
}

class Connection {
  readonly parser = new RtspStreamParser();
  readonly nonce = newNonce();
  session: Session | null = null;
  lastActivity = Date.now();
  /** Requests are answered in order, even when one waits (DESCRIBE). */
  queue: Promise<void> = Promise.resolve();
  private expiry: NodeJS.Timeout | null = null;
  private waitingForKey = true;
  private closed = false;

  constructor(
    readonly socket: Socket,
    private readonly log: Logger,
    private readonly onExpired: () => void,
  ) {}

  play(feed: H264Feed): void {
    const session = this.session;
    if (!session || session.unsubscribe) return;
    this.waitingForKey = true;
    session.unsubscribe = feed.subscribe((picture) => this.send(feed, picture, session.channel));
  }

  /** Whole pictures only: a congested client loses pictures up to the next keyframe. */
  private send(feed: H264Feed, picture: FeedPicture, channel: number): void {
    if (this.socket.destroyed) return;
    if (this.socket.writableLength > MAX_QUEUED_BYTES) {
      this.waitingForKey = true;
      return;
    }
    if (this.waitingForKey && !picture.key) return;
    this.waitingForKey = false;
    this.socket.write(feed.wire(picture, channel));
  }

  pause(): void {
    this.session?.unsubscribe?.();
    if (this.session) this.session.unsubscribe = null;
  }

  /** Forget the session (TEARDOWN, or the socket closed). */
  endSession(): void {
    this.pause();
    this.session = null;
    if (this.expiry) clearInterval(this.expiry);
    this.expiry = null;
  }

  /** LIVE555 ends a session after `timeoutS` without a request or RTCP from its client. */
  armExpiry(timeoutS: number): void {
    if (this.expiry) return;
    this.expiry = setInterval(
      () => {
        if (Date.now() - this.lastActivity <= timeoutS * 1000) return;
        this.onExpired();
        this.close(`session expired: no keep-alive for ${timeoutS} s`);
      },
      Math.min(1000, timeoutS * 250),
    );
    this.expiry.unref();
  }

  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.log.debug(`closing connection from ${this.socket.remoteAddress}: ${reason}`);
    this.endSession();
    this.socket.destroy();
  }
}

export class Live555Server {
  readonly stats: Live555Stats = {
    connections: 0,
    connectionsOpen: 0,
    refused: 0,
    sessionsStarted: 0,
    sessionsExpired: 0,
    unauthorized: 0,
  };
  private server: Server | null = null;
  private readonly conns = new Set<Connection>();

  constructor(private readonly opts: Live555ServerOptions) {}

  get port(): number {
    const addr = this.server?.address();
    return typeof addr === 'object' && addr ? addr.port : 0;
  }

  /** Sessions playing right now. */
  get playing(): number {
    let n = 0;
    for (const c of this.conns) if (c.session?.unsubscribe) n++;
    return n;
  }

  async start(): Promise<void> {
    const server = createServer(
      { ...this.opts.identity, minVersion: 'TLSv1.2', ciphers: TLS_SERVER_CIPHERS },
      (socket) => this.accept(socket),
    );
    server.on('tlsClientError', (err: Error) => this.opts.log.debug(`TLS handshake failed: ${err.message}`));
    await listenOn(server, this.opts.port, this.opts.host);
    server.on('error', (err) => this.opts.log.error(`server error: ${err.message}`));
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const c of [...this.conns]) c.close('server stopping');
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    this.stats.connections++;
    if (this.conns.size >= this.opts.maxConnections) {
      this.stats.refused++;
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    const conn = new Connection(socket, this.opts.log, () => this.stats.sessionsExpired++);
    socket.setTimeout(IDLE_CONNECTION_MS, () => {
      if (!conn.session?.unsubscribe) conn.close('idle: no request for 60 s');
    });
    this.conns.add(conn);
    this.stats.connectionsOpen++;
    socket.on('data', (chunk: Buffer) => {
      conn.lastActivity = Date.now();
      let messages: ReturnType<RtspStreamParser['push']>;
      try {
        messages = conn.parser.push(chunk);
      } catch (err) {
        conn.close(`malformed request: ${(err as Error).message}`);
        return;
      }
      // Interleaved frames from the client are RTCP receiver reports: they only prove it is alive.
      for (const m of messages) if (m.kind === 'request') this.handle(conn, m);
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      conn.endSession();
      this.conns.delete(conn);
      this.stats.connectionsOpen--;
    });
  }

  private handle(conn: Connection, req: RtspRequest): void {
    conn.queue = conn.queue
      .then(() => this.dispatch(conn, req))
      .catch((err: Error) => {
        this.opts.log.warn(`${req.method} failed: ${err.message}`);
        this.reply(conn, req, 500);
      });
  }

  private reply(
    conn: Connection,
    req: RtspRequest,
    status: number,
    headers: HeaderValues = {},
    body?: Buffer,
  ) {
    if (conn.socket.destroyed) return;
    const base: HeaderValues = {
      CSeq: req.headers.cseq ?? '0',
      Date: new Date().toUTCString(),
      Server: SERVER_HEADER,
    };
    conn.socket.write(serializeResponse(status, { ...base, ...headers }, body));
  }

  /** The request names the stream (DESCRIBE, PLAY) or its track (SETUP `.../track1`). */
  private isOurs(uri: string): boolean {
    const path = uriPath(uri);
    return path === this.opts.path || path.slice(0, path.lastIndexOf('/')) === this.opts.path;
  }

  private authorized(conn: Connection, req: RtspRequest): boolean {
    const user = verifyAuthorization(req.headers.authorization, req.method, this.opts.credentials(), {
      realm: LIVE555_REALM,
      nonce: conn.nonce,
      allowBasic: false,
    });
    if (user) return true;
    this.stats.unauthorized++;
    this.reply(conn, req, 401, {
      'WWW-Authenticate': `Digest realm="${LIVE555_REALM}", nonce="${conn.nonce}"`,
    });
    return false;
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
      case 'PAUSE':
        if (!this.checkSession(conn, req)) return;
        conn.pause();
        this.reply(conn, req, 200, { Session: conn.session?.id ?? '' });
        return;
      case 'GET_PARAMETER':
      case 'SET_PARAMETER':
        this.reply(conn, req, 200, conn.session ? { Session: conn.session.id } : {});
        return;
      case 'TEARDOWN': {
        const id = conn.session?.id;
        conn.endSession();
        this.reply(conn, req, 200, id ? { Session: id } : {});
        return;
      }
      default:
        this.reply(conn, req, 405, { Allow: PUBLIC });
    }
  }

  private async describe(conn: Connection, req: RtspRequest): Promise<void> {
    if (!this.isOurs(req.uri)) {
      this.reply(conn, req, 404);
      return;
    }
    if (!this.authorized(conn, req)) return;
    const { feed } = this.opts;
    if (!(await feed.waitForParameters(DESCRIBE_WAIT_MS)) || !feed.sps || !feed.pps) {
      this.reply(conn, req, 503, { 'Retry-After': 5 });
      return;
    }
    const sdp = buildH264Sdp({
      sps: feed.sps,
      pps: feed.pps,
      name: 'Session streamed by "bambu"',
      control: 'track1',
      address: conn.socket.localAddress?.replace(/^::ffff:/, '') ?? '0.0.0.0',
    });
    this.reply(
      conn,
      req,
      200,
      { 'Content-Base': `${req.uri.replace(/\/+$/, '')}/`, 'Content-Type': 'application/sdp' },
      Buffer.from(sdp),
    );
  }

  private setup(conn: Connection, req: RtspRequest): void {
    if (!this.isOurs(req.uri)) {
      this.reply(conn, req, 404);
      return;
    }
    if (!this.authorized(conn, req)) return;
    const tcp = parseTransports(req.headers.transport ?? '').find((t) => t.lower === 'tcp' && !t.multicast);
    if (!tcp) {
      this.reply(conn, req, 461);
      return;
    }
    const channel = tcp.interleaved?.[0] ?? 0;
    conn.session ??= { id: randomBytes(4).toString('hex').toUpperCase(), channel, unsubscribe: null };
    conn.session.channel = channel;
    const ssrc = this.opts.feed.ssrc.toString(16).toUpperCase().padStart(8, '0');
    this.reply(conn, req, 200, {
      Transport: `RTP/AVP/TCP;unicast;interleaved=${channel}-${channel + 1};ssrc=${ssrc}`,
      Session: `${conn.session.id};timeout=${this.opts.sessionTimeoutS}`,
    });
    conn.armExpiry(this.opts.sessionTimeoutS);
  }

  private checkSession(conn: Connection, req: RtspRequest): boolean {
    const id = (req.headers.session ?? '').split(';')[0].trim();
    if (conn.session && id === conn.session.id) return true;
    this.reply(conn, req, 454);
    return false;
  }

  private play(conn: Connection, req: RtspRequest): void {
    if (!this.checkSession(conn, req) || !this.authorized(conn, req)) return;
    const session = conn.session!;
    const first = this.opts.feed.currentGop[0];
    const trackUrl = `${req.uri.replace(/\/+$/, '')}/track1`;
    this.reply(conn, req, 200, {
      Session: session.id,
      Range: 'npt=0.000-',
      'RTP-Info': first
        ? `url=${trackUrl};seq=${first.firstSeq};rtptime=${first.timestamp}`
        : `url=${trackUrl}`,
    });
    if (session.unsubscribe) return;
    this.stats.sessionsStarted++;
    conn.play(this.opts.feed);
  }
}
