/**
 * The printer's MQTT link (TLS :8883, PROTOCOLS.md §5): not a camera source, but it tells us the
 * model, firmware, the camera settings (`ipcam`: LAN liveview on/off) and the printer's own IP, and
 * it carries the chamber-light command. `run()` is one connection and settles only after the TLS
 * socket has closed; a Supervisor keeps it running with backoff (CONNACK 5 → AuthError, long wait).
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { MqttClient } from 'mqtt';
import type { Logger } from '../log';
import { type ModelInfo, modelByProduct } from '../protocol/models';
import {
  type CommandResult,
  getVersionRequest,
  type IpcamInfo,
  type LightMode,
  ledctrlRequest,
  MQTT_USER,
  mergeState,
  parseMessage,
  pushallRequest,
  readChamberLight,
  readIp,
  readIpcam,
  readSystemResult,
  readVersion,
  reportTopic,
  requestTopic,
  type VersionInfo,
} from '../protocol/mqtt-payloads';
import { isFullReport } from '../protocol/mqtt-reserve';
import { PrinterSocket } from './printer-socket';
import { SourceStatus } from './status';
import { AuthError, Supervisor } from './supervisor';
import type { PrinterTlsConfig } from './tls-options';

export interface MqttLinkTuning {
  backoffMs?: number[];
  longBackoffMs?: number[];
  connectTimeoutMs?: number;
  /** Least time between two pushall requests (P1P: 5 minutes at least, whatever this says). */
  pushallMinIntervalMs?: number;
  /** How long to wait for the printer's answer to a command. */
  commandTimeoutMs?: number;
}

export interface MqttLinkOptions extends MqttLinkTuning {
  host: string;
  port: number;
  accessCode: string;
  serial: string;
  tls: PrinterTlsConfig;
  log: Logger;
  /** What we know of the model before the printer says (config or serial prefix), for pushall limits. */
  modelHint?: ModelInfo;
}

export const MQTT_CONNECT_TIMEOUT_MS = 10_000;
/** P1P firmware struggles with frequent pushall (PROTOCOLS.md §5). */
export const P1P_PUSHALL_MIN_INTERVAL_MS = 5 * 60_000;
export const PUSHALL_MIN_INTERVAL_MS = 60_000;
export const COMMAND_TIMEOUT_MS = 5_000;

type Json = Record<string, unknown>;

/**
 * Events: 'update' (any state change), 'connected', 'version', 'system' (CommandResult), and
 * 'report' (topic, payload: Buffer) for every message on the report topic, in order, after it was
 * merged into `state` (the native MQTT re-server fans these out).
 */
export class MqttLink extends EventEmitter {
  readonly status = new SourceStatus();
  /** The printer's merged `print` state (push_status reports only; command answers are not state). */
  state: Json = {};
  /** True once a full report (push_status, msg 0) arrived on the current connection: `state` is whole and fresh. */
  stateComplete = false;
  /** When the last full report arrived (on any connection); null: `state` was never whole. */
  fullStateAt: number | null = null;
  version: VersionInfo | null = null;
  /** The printer's last `get_version` answer (its `info` object) as it sent it. */
  versionInfo: Json | null = null;
  lastReportAt: number | null = null;
  /** pushall requests sent to the printer since start. */
  pushallsSent = 0;
  private client: MqttClient | null = null;
  private lastPushallAt = -Infinity;
  private sequence = 0;
  private readonly supervisor: Supervisor;

  constructor(private readonly opts: MqttLinkOptions) {
    super();
    this.setMaxListeners(0);
    this.supervisor = new Supervisor({
      log: opts.log,
      status: this.status,
      run: (signal) => this.run(signal),
      backoffMs: opts.backoffMs,
      longBackoffMs: opts.longBackoffMs,
    });
  }

  start(): void {
    this.supervisor.start();
  }

  async stop(): Promise<void> {
    await this.supervisor.stop();
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  /** The model named by the printer's `get_version` answer. */
  get model(): ModelInfo | null {
    const name = this.version?.productName ?? this.version?.modelCode;
    return name ? (modelByProduct(name) ?? null) : null;
  }

  get ipcam(): IpcamInfo | null {
    return readIpcam(this.state);
  }

  get reportedIp(): string | null {
    return readIp(this.state);
  }

  get chamberLight(): string | null {
    return readChamberLight(this.state);
  }

  /** Send a request; false when not connected. */
  request(message: Json): boolean {
    return this.forward(Buffer.from(JSON.stringify(message)));
  }

  /** Send a client's request payload to the printer unchanged (its sequence_id kept); false when not connected. */
  forward(payload: Buffer): boolean {
    const client = this.client;
    if (!client?.connected) return false;
    client.publish(requestTopic(this.opts.serial), payload, { qos: 0 });
    return true;
  }

  /**
   * Ask the printer for its full state if the model allows one now (P1P: at most every 5 minutes,
   * others once a minute); false when it was not sent (too soon, or not connected).
   */
  requestPushall(): boolean {
    const now = Date.now();
    if (!this.connected || now - this.lastPushallAt < this.pushallMinIntervalMs()) return false;
    this.lastPushallAt = now;
    this.pushallsSent++;
    return this.request(pushallRequest(this.nextSequence()));
  }

  /** Switch the chamber light and wait for the printer's echo (or its refusal). */
  setLight(mode: LightMode): Promise<CommandResult> {
    const timeoutMs = this.opts.commandTimeoutMs ?? COMMAND_TIMEOUT_MS;
    return new Promise((resolve) => {
      const done = (result: CommandResult) => {
        clearTimeout(timer);
        this.off('system', onSystem);
        this.off('update', onUpdate);
        resolve(result);
      };
      const onSystem = (r: CommandResult) => r.command === 'ledctrl' && done(r);
      // Some firmware confirms only through lights_report.
      const onUpdate = () =>
        this.chamberLight === mode && done({ command: 'ledctrl', ok: true, reason: null });
      const timer = setTimeout(
        () => done({ command: 'ledctrl', ok: false, reason: `no answer within ${timeoutMs / 1000} s` }),
        timeoutMs,
      );
      this.on('system', onSystem);
      this.on('update', onUpdate);
      if (!this.request(ledctrlRequest(mode, this.nextSequence())))
        done({ command: 'ledctrl', ok: false, reason: 'MQTT is not connected' });
    });
  }

  /** For the API: never contains the access code. */
  toJSON(): Json {
    const ipcam = this.ipcam;
    const status = this.status.toJSON();
    return {
      ...status,
      state: status.state === 'streaming' ? 'connected' : status.state,
      model: this.model?.name ?? null,
      product_name: this.version?.productName ?? null,
      firmware: this.version?.firmware ?? null,
      reported_ip: this.reportedIp,
      ipcam: ipcam
        ? {
            present: ipcam.present,
            rtsp_url: ipcam.rtspUrl,
            liveview: ipcam.liveview,
            resolution: ipcam.resolution,
          }
        : null,
      chamber_light: this.chamberLight,
      pushalls_sent: this.pushallsSent,
      last_report_at: this.lastReportAt === null ? null : new Date(this.lastReportAt).toISOString(),
    };
  }

  private nextSequence(): string {
    return String(++this.sequence);
  }

  private pushallMinIntervalMs(): number {
    const model = this.model ?? this.opts.modelHint;
    const min = this.opts.pushallMinIntervalMs ?? PUSHALL_MIN_INTERVAL_MS;
    return model?.name === 'P1P' ? Math.max(min, P1P_PUSHALL_MIN_INTERVAL_MS) : min;
  }

  private onMessage(payload: Buffer): void {
    const message = parseMessage(payload);
    if (!message) {
      this.opts.log.debug(`ignored a report that is not JSON (${payload.length} bytes)`);
      return;
    }
    this.lastReportAt = Date.now();
    const print = message.print;
    // Answers to commands (`print.command` pause, resume, ...) are echoes, not state.
    const isState = (p: Json) => p.command === undefined || p.command === 'push_status';
    if (typeof print === 'object' && print !== null && !Array.isArray(print) && isState(print as Json)) {
      const before = JSON.stringify(readIpcam(this.state));
      this.state = mergeState(this.state, print as Json);
      const after = readIpcam(this.state);
      if (JSON.stringify(after) !== before && after?.liveview)
        this.opts.log.info(`LAN liveview ${after.liveview} (ipcam.rtsp_url)`);
      if (isFullReport(message)) {
        this.stateComplete = true;
        this.fullStateAt = Date.now();
      }
    }
    const version = readVersion(message);
    if (version) {
      const first = this.version === null;
      this.version = version;
      this.versionInfo = message.info as Json;
      if (first)
        this.opts.log.info(
          `printer says: ${version.productName ?? 'unknown product'}, firmware ${version.firmware ?? 'unknown'}`,
        );
      this.emit('version', version);
    }
    const system = readSystemResult(message);
    if (system) this.emit('system', system);
    this.emit('update');
  }

  private onReport(topic: string, payload: Buffer): void {
    if (topic !== reportTopic(this.opts.serial)) return;
    this.onMessage(payload);
    this.emit('report', topic, payload);
  }

  run(signal: AbortSignal): Promise<void> {
    const { host, port, serial, log } = this.opts;
    const where = `${host}:${port}`;
    const status = this.status;
    if (signal.aborted) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      let conn: PrinterSocket | null = null;
      let failure: Error | null = null;
      let settled = false;
      let connected = false;
      status.set('connecting', `connecting to MQTT at ${where}`);
      const client = new MqttClient(
        () => {
          conn = new PrinterSocket({
            host,
            port,
            serial,
            tls: this.opts.tls,
            status,
            signal,
            refusedHint: 'is the printer on and in LAN mode?',
          });
          void conn.closed.then(() => finish());
          return conn.socket;
        },
        {
          protocolVersion: 4,
          username: MQTT_USER,
          password: this.opts.accessCode,
          clientId: `bambucam_${randomBytes(4).toString('hex')}`,
          clean: true,
          keepalive: 30,
          reconnectPeriod: 0,
          connectTimeout: this.opts.connectTimeoutMs ?? MQTT_CONNECT_TIMEOUT_MS,
        },
      );
      this.client = client;
      const onAbort = () => client.end(true);
      signal.addEventListener('abort', onAbort, { once: true });

      const finish = () => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        client.end(true);
        if (this.client === client) this.client = null;
        this.emit('update');
        if (signal.aborted) return resolve();
        // The socket's own failure (refused, unreachable, pinning) names the cause best.
        const cause = failure ?? (conn as PrinterSocket | null)?.failure;
        if (cause) return reject(cause);
        resolve();
      };

      client.on('connect', () => {
        connected = true;
        // Deltas from now on may follow changes missed while away: whole again after a full report.
        this.stateComplete = false;
        status.lastConnectedAt = Date.now();
        status.set('streaming');
        log.info(`MQTT connected to ${where}`);
        client.subscribe(reportTopic(serial), { qos: 0 }, (err) => {
          if (err) log.warn(`subscribe failed: ${err.message}`);
        });
        this.request(getVersionRequest(this.nextSequence()));
        this.requestPushall();
        this.emit('connected');
        this.emit('update');
      });
      client.on('message', (topic, payload) => this.onReport(topic, payload));
      client.on('error', (err: Error & { code?: number | string }) => {
        if (err.code === 5 || err.code === 4) {
          failure ??= new AuthError(
            `wrong access code: the printer's MQTT server at ${where} refused user ${MQTT_USER} with this code (CONNACK ${err.code})`,
          );
        } else if (typeof err.code === 'string') {
          // A socket error: the PrinterSocket words it.
        } else {
          failure ??= new Error(`MQTT at ${where}: ${err.message}`);
        }
      });
      client.on('close', () => {
        // mqtt.js may close without an error (connect timeout); the socket's 'close' settles the run.
        if (!connected)
          failure ??= new Error(`MQTT at ${where}: closed before the printer accepted the login`);
        (conn as PrinterSocket | null)?.socket.destroy();
      });
    });
  }
}
