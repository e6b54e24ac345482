/**
 * The native MQTT server of one printer (TLS, default :8883; issue 12, PROTOCOLS.md §5, §7): an aedes
 * broker behind a Node TLS server, fed by bambucam's one MQTT link to the printer. Clients log in as
 * on the printer (`bblp` + access code: read and write; + viewer code: read only; anything else:
 * CONNACK 5) and see only this printer's report topic.
 *
 * - Reports: every report from the printer is published once into the broker at QoS 0, in order, and
 *   aedes delivers it to every matching subscription. Nothing waits for a client: the broker has no
 *   message concurrency limit, so a slow client holds only its own writes, and a client with more than
 *   `maxBacklogBytes` unsent is dropped.
 * - Requests: handled by RequestRouter (pushall/get_version from bambucam's state, commands forwarded
 *   or refused); requests never reach other clients, and clients' retained messages are never stored.
 * - After the printer returns from an outage, every client gets the full state again.
 * - Strangers (issue 13): connections are admitted per address by a guard before TLS (capped apart
 *   from logged-in clients), wrong codes are counted, slowed down and then refused per address, and
 *   logged in aggregate; logged-in clients are capped separately (`maxClients`, CONNACK 3 beyond).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { type default as Aedes, type AedesPublishPacket, type Client, createBroker } from 'aedes';
import type { Logger } from '../../log';
import { listenOrExplain } from '../../net/listen';
import type { PrinterMqtt } from '../../output/printer-mqtt';
import { MQTT_USER, reportTopic, requestTopic } from '../../protocol/mqtt-payloads';
import { fullStateReport, hideCodes, topicMatches } from '../../protocol/mqtt-reserve';
import type { KeyAndCert } from '../../tls/certs';
import { TLS_SERVER_CIPHERS } from '../../tls/ciphers';
import type { GuardLimits, GuardStatusJson } from '../guard/address-guard';
import { SocketGuard } from '../guard/socket-guard';
import { newRequestCounters, type RequestCounters, RequestRouter } from './requests';
import { TokenBucket } from './token-bucket';

export interface NativeMqttTuning {
  /** TLS handshake and MQTT CONNECT must both arrive within this time. */
  connectTimeoutMs?: number;
  /** Logged-in clients at once; more get CONNACK 3 (server unavailable). */
  maxClients?: number;
  /** A client with more than this many bytes not yet sent is dropped (it stopped reading). */
  maxBacklogBytes?: number;
  /** Commands a client may send to the printer per second, and in one burst. */
  commandRatePerS?: number;
  commandBurst?: number;
}

export const MQTT_CONNECT_TIMEOUT_MS = 10_000;
export const MAX_MQTT_CLIENTS = 256;
/** About 200 full X1 reports: far more than a reading client ever has queued. */
export const MAX_CLIENT_BACKLOG_BYTES = 1024 * 1024;
export const COMMAND_RATE_PER_S = 10;
export const COMMAND_BURST = 20;

export interface NativeMqttServerOptions extends NativeMqttTuning {
  host: string;
  port: number;
  serial: string;
  /** Key and certificate chain (leaf `CN=<serial>` first). */
  identity: KeyAndCert;
  link: PrinterMqtt;
  /** Codes that log in with read and write access (the access code, unless native_auth is viewer_only). */
  readWriteCodes: readonly string[];
  /** Codes that log in read-only (the viewer code). */
  readOnlyCodes: readonly string[];
  /** Codes never to appear in anything this server publishes (the access code and viewer code). */
  hiddenCodes: readonly string[];
  log: Logger;
  /** Per-address limits on connections that have not logged in (defaults: DEFAULT_GUARD_LIMITS). */
  limits?: Partial<GuardLimits>;
}

export type NativeMqttClientJson = {
  remote: string;
  client_id: string;
  read_only: boolean;
  clean_session: boolean;
  since: string;
  messages_in: number;
  messages_out: number;
};

/** A type (not an interface) so that it is an OutputState. */
export type NativeMqttStatusJson = {
  state: 'listening' | 'failed';
  listen: string;
  /** Why it failed. */
  reason?: string;
  host: string;
  port: number;
  clients: NativeMqttClientJson[];
  messages_in: number;
  messages_out: number;
  commands: {
    forwarded: number;
    refused: number;
    rate_limited: number;
    printer_offline: number;
    withheld: number;
    invalid: number;
  };
  pushall_answered: number;
  get_version_answered: number;
  pushall_upstream: number;
  connections_total: number;
  auth_failures: number;
  clients_dropped_slow: number;
  /** Good codes answered CONNACK 3 because `maxClients` were logged in. */
  clients_refused_full: number;
  /** Per-address limits: pending connections, failures, refusals, delays. */
  guard: GuardStatusJson;
};

interface Session {
  client: Client;
  remote: string;
  readOnly: boolean;
  since: number;
  messagesIn: number;
  messagesOut: number;
  bucket: TokenBucket;
  dropped: boolean;
}

const digest = (code: Buffer | string) => createHash('sha256').update(code).digest();
const matchesAny = (digests: Buffer[], offered: Buffer) => {
  let match = false;
  for (const d of digests) match = timingSafeEqual(offered, d) || match;
  return match;
};
const noop = () => {};

export class NativeMqttServer {
  state: 'starting' | 'listening' | 'failed' | 'stopped' = 'starting';
  reason: string | null = null;
  messagesIn = 0;
  messagesOut = 0;
  connectionsTotal = 0;
  droppedSlow = 0;
  refusedFull = 0;
  private readonly guardian: SocketGuard;
  readonly counters: RequestCounters = newRequestCounters();
  private broker: Aedes | null = null;
  private server: Server | null = null;
  private readonly sessions = new Map<Client, Session>();
  private readonly sockets = new Set<TLSSocket>();
  private readonly report: string;
  private readonly request: string;
  private readonly router: RequestRouter;
  private readonly rwDigests: Buffer[];
  private readonly roDigests: Buffer[];
  private readonly hidden: Buffer[];
  /** Set when the printer (re)connects: the first report after it decides whether clients need the full state. */
  private awaitingFirstReport = false;

  constructor(private readonly opts: NativeMqttServerOptions) {
    this.report = reportTopic(opts.serial);
    this.request = requestTopic(opts.serial);
    this.router = new RequestRouter(opts.link, this.counters, opts.log);
    this.rwDigests = opts.readWriteCodes.map(digest);
    this.roDigests = opts.readOnlyCodes.map(digest);
    this.hidden = opts.hiddenCodes.filter((c) => c.length > 0).map((c) => Buffer.from(c));
    this.guardian = new SocketGuard({ log: opts.log, limits: opts.limits });
  }

  /** Wrong logins (CONNACK 5). */
  get authFailures(): number {
    return this.guardian.guard.status().failures;
  }

  get port(): number {
    const addr = this.server?.address();
    return addr && typeof addr !== 'string' ? addr.port : this.opts.port;
  }

  get clientCount(): number {
    return this.sessions.size;
  }

  /** Listen; a failure leaves state 'failed' with a reason and rejects with the same words. */
  async start(): Promise<void> {
    const { host, port, log } = this.opts;
    const timeoutMs = this.opts.connectTimeoutMs ?? MQTT_CONNECT_TIMEOUT_MS;
    // No message concurrency limit: a client waiting for 'drain' must never hold back the others.
    const broker = createBroker({ concurrency: 0, connectTimeout: timeoutMs });
    this.broker = broker;
    broker.authenticate = (client, username, password, done) =>
      this.authenticate(client, username, password, done);
    broker.authorizePublish = (client, packet, done) => {
      if (client) this.onClientPublish(client, packet);
      done(null);
    };
    broker.authorizeSubscribe = (_client, sub, done) => {
      // Only filters that can match this printer's report topic; never the request topic.
      if (!topicMatches(sub.topic, this.report)) return done(null, null);
      // Reports are QoS 0: a QoS 0 subscription also keeps aedes from queueing anything for offline sessions.
      sub.qos = 0;
      done(null, sub);
    };
    broker.authorizeForward = (client, packet) => this.forward(client, packet);
    broker.on('client', (client) => {
      const s = this.sessions.get(client);
      if (s)
        log.info(
          `client ${s.remote} (${client.id}) connected, ${s.readOnly ? 'read-only' : 'read and write'} (${this.sessions.size} now)`,
        );
    });
    broker.on('clientDisconnect', (client) => {
      const s = this.sessions.get(client);
      if (s) log.info(`client ${s.remote} (${client.id}) left after ${s.messagesOut} messages`);
    });
    broker.on('clientError', (client, err) => log.debug(`client ${client.id}: ${err.message}`));
    broker.on('connectionError', (_client, err) => log.debug(`connection closed: ${err.message}`));
    (broker as unknown as NodeJS.EventEmitter).on('error', (err: Error) =>
      log.warn(`broker: ${err.message}`),
    );

    const server = createServer(
      {
        key: this.opts.identity.key,
        cert: this.opts.identity.cert,
        minVersion: 'TLSv1.2',
        ciphers: TLS_SERVER_CIPHERS,
        honorCipherOrder: true,
        handshakeTimeout: timeoutMs,
      },
      (socket) => this.onSocket(socket),
    );
    // Admitted per address before the handshake; no cap on all connections together, which a flood
    // of idle sockets would fill (logged-in clients are capped in authenticate()).
    this.guardian.watch(server);
    // Garbage, plain TCP, a failed handshake: that socket is closed, nobody else notices.
    server.on('tlsClientError', (err, socket) => {
      log.debug(`TLS handshake failed: ${err.message}`);
      socket.destroy();
    });
    this.server = server;
    try {
      await listenOrExplain(server, port, host, { port: 'native.mqtt.port', host: 'native.mqtt.host' });
    } catch (err) {
      this.state = 'failed';
      this.reason = (err as Error).message;
      await new Promise<void>((r) => broker.close(() => r()));
      throw err;
    }
    server.on('error', (err) => log.error(`server error: ${err.message}`));
    this.state = 'listening';
    this.reason = null;
    this.opts.link.on('report', this.onReport);
    this.opts.link.on('connected', this.onPrinterConnected);
  }

  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    this.opts.link.off('report', this.onReport);
    this.opts.link.off('connected', this.onPrinterConnected);
    const { server, broker } = this;
    for (const s of this.sockets) s.destroy();
    this.guardian.stop();
    await Promise.all([
      server?.listening ? new Promise<void>((r) => server.close(() => r())) : undefined,
      broker ? new Promise<void>((r) => broker.close(() => r())) : undefined,
    ]);
  }

  status(): NativeMqttStatusJson {
    const { host } = this.opts;
    const c = this.counters;
    return {
      state: this.state === 'failed' ? 'failed' : 'listening',
      listen: `${host}:${this.port}`,
      ...(this.reason ? { reason: this.reason } : {}),
      host,
      port: this.port,
      clients: [...this.sessions.values()].map((s) => ({
        remote: s.remote,
        client_id: s.client.id,
        read_only: s.readOnly,
        clean_session: s.client.clean,
        since: new Date(s.since).toISOString(),
        messages_in: s.messagesIn,
        messages_out: s.messagesOut,
      })),
      messages_in: this.messagesIn,
      messages_out: this.messagesOut,
      commands: {
        forwarded: c.forwarded,
        refused: c.refused,
        rate_limited: c.rateLimited,
        printer_offline: c.printerOffline,
        withheld: c.withheld,
        invalid: c.invalid,
      },
      pushall_answered: c.pushallAnswered,
      get_version_answered: c.versionAnswered,
      pushall_upstream: c.pushallUpstream,
      connections_total: this.connectionsTotal,
      auth_failures: this.authFailures,
      clients_dropped_slow: this.droppedSlow,
      clients_refused_full: this.refusedFull,
      guard: this.guardian.guard.status(),
    };
  }

  private onSocket(socket: TLSSocket): void {
    if (this.state !== 'listening' || !this.broker) {
      socket.destroy();
      return;
    }
    this.connectionsTotal++;
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.setNoDelay(true);
    this.broker.handle(socket);
  }

  private authenticate(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
    done: (err: (Error & { returnCode: 3 | 5 }) | null, ok: boolean | null) => void,
  ): void {
    const conn = client.conn as TLSSocket;
    const attempt = this.guardian.attemptFor(conn);
    // An address that failed often waits before its code is checked, right or wrong alike.
    const delay = attempt?.isOpen ? attempt.verdictDelayMs() : 0;
    if (delay > 0) setTimeout(() => this.judge(client, username, password, done), delay).unref();
    else this.judge(client, username, password, done);
  }

  private judge(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
    done: (err: (Error & { returnCode: 3 | 5 }) | null, ok: boolean | null) => void,
  ): void {
    const conn = client.conn as TLSSocket;
    if (conn.destroyed) return;
    const attempt = this.guardian.attemptFor(conn);
    const remote = `${conn.remoteAddress}:${conn.remotePort}`;
    const offered = password ? digest(password) : null;
    const readWrite = !!offered && matchesAny(this.rwDigests, offered);
    const readOnly = !readWrite && !!offered && matchesAny(this.roDigests, offered);
    if (username !== MQTT_USER || !(readWrite || readOnly)) {
      attempt?.failed(); // counted and logged in aggregate by the guard
      // As the printer answers a wrong code: CONNACK "not authorized".
      done(Object.assign(new Error('not authorized'), { returnCode: 5 as const }), false);
      return;
    }
    attempt?.authenticated();
    if (this.sessions.size >= (this.opts.maxClients ?? MAX_MQTT_CLIENTS)) {
      this.refusedFull++;
      this.opts.log.warn(`client ${remote} refused: ${this.sessions.size} clients is the limit`);
      done(Object.assign(new Error('server unavailable'), { returnCode: 3 as const }), false);
      return;
    }
    const session: Session = {
      client,
      remote,
      readOnly,
      since: Date.now(),
      messagesIn: 0,
      messagesOut: 0,
      bucket: new TokenBucket(
        this.opts.commandRatePerS ?? COMMAND_RATE_PER_S,
        this.opts.commandBurst ?? COMMAND_BURST,
      ),
      dropped: false,
    };
    this.sessions.set(client, session);
    conn.once('close', () => this.sessions.delete(client));
    done(null, true);
  }

  /** A client's PUBLISH (or its will, which has no `cmd`): counted, requests handled, never stored as retained. */
  private onClientPublish(
    client: Client,
    packet: { cmd?: string; topic: string; payload: unknown; retain?: boolean },
  ): void {
    packet.retain = false;
    const session = this.sessions.get(client);
    if (packet.cmd !== 'publish' || !session) return;
    session.messagesIn++;
    this.messagesIn++;
    if (packet.topic !== this.request) return;
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(String(packet.payload));
    const answer = this.router.handle(session, payload);
    if (answer) this.sendTo(client, answer);
  }

  /** Called by aedes before each delivery: only the printer's reports, and only to clients that keep up. */
  private forward(client: Client, packet: AedesPublishPacket): AedesPublishPacket | null {
    // Clients' own publishes (requests, wills, anything else) reach nobody; only bambucam's have no clientId.
    if (packet.topic !== this.report || (packet as { clientId?: string }).clientId) return null;
    const session = this.sessions.get(client);
    if (!session || session.dropped) return null;
    const backlog = (client.conn as TLSSocket).writableLength;
    if (backlog > (this.opts.maxBacklogBytes ?? MAX_CLIENT_BACKLOG_BYTES)) {
      session.dropped = true;
      this.droppedSlow++;
      this.opts.log.warn(
        `client ${session.remote} (${client.id}) dropped: it stopped reading (${backlog} bytes not sent); the others are not held up`,
      );
      client.conn.destroy();
      return null;
    }
    session.messagesOut++;
    this.messagesOut++;
    return packet;
  }

  private publishReport(payload: Buffer): void {
    this.broker?.publish(
      { cmd: 'publish', topic: this.report, payload, qos: 0, retain: false, dup: false },
      noop,
    );
  }

  /** One client's answer (pushall, get_version), if it subscribed to a filter that matches the report topic. */
  private sendTo(client: Client, message: Record<string, unknown>): void {
    const filters = Object.keys(
      (client as Client & { subscriptions: Record<string, unknown> }).subscriptions,
    );
    if (!filters.some((f) => topicMatches(f, this.report))) return;
    const payload = hideCodes(Buffer.from(JSON.stringify(message)), this.hidden);
    client.publish({ cmd: 'publish', topic: this.report, payload, qos: 0, retain: false, dup: false }, noop);
  }

  private readonly onReport = (topic: string, payload: Buffer): void => {
    if (topic !== this.report) return;
    this.publishReport(hideCodes(payload, this.hidden));
    const link = this.opts.link;
    if (!this.awaitingFirstReport) return;
    this.awaitingFirstReport = false;
    // Back from an outage without a full report (the pushall limit held it back): send bambucam's
    // merged state, so clients that stayed connected are whole again.
    if (!link.stateComplete && link.fullStateAt !== null)
      this.publishReport(
        hideCodes(Buffer.from(JSON.stringify(fullStateReport(link.state, '0'))), this.hidden),
      );
  };

  private readonly onPrinterConnected = (): void => {
    this.awaitingFirstReport = true;
  };
}
