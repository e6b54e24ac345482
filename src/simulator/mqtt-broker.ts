/**
 * The printer's MQTT side (TLS :8883, PROTOCOLS.md §5), simulated with an in-process aedes broker:
 * only `bblp` with the access code gets in (anything else: CONNACK 5); reports go to
 * `device/<serial>/report` — the full state every time on X1-type printers, only changed fields on
 * P1-type printers (full state after a pushall); `get_version` is answered, `ledctrl` obeyed (or
 * refused, as printers with developer mode off do), and LAN liveview can be switched off.
 */
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { type Client, createBroker } from 'aedes';
import { listenOn } from '../net/listen';
import { type ModelInfo, modelByName } from '../protocol/models';
import {
  ipToLittleEndianU32,
  MQTT_USER,
  mergeState,
  parseMessage,
  reportTopic,
  requestTopic,
} from '../protocol/mqtt-payloads';
import { generateCertificate, type KeyAndCert } from '../tls/certs';

export interface SimulatedMqttOptions {
  serial: string;
  accessCode: string;
  /** Model name as in protocol/models.ts (P1S, X1C, ...). */
  model: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** The IP the printer reports about itself in `net.info`. */
  reportedIp?: string;
  /** X1-type printers only: LAN Only Liveview on (default) or off. */
  liveview?: boolean;
  /** Developer mode: when off, control commands such as ledctrl are refused. Default on. */
  developerMode?: boolean;
  /** How often a report is pushed. Default 2000 ms. */
  reportIntervalMs?: number;
  firmware?: string;
  identity?: KeyAndCert;
}

export interface SimulatedMqttStats {
  connections: number;
  authFailures: number;
  pushalls: number;
  getVersions: number;
  ledctrls: number;
  /** Clients connected right now. */
  clients: number;
}

type Json = Record<string, unknown>;

export class SimulatedMqttPrinter {
  readonly stats: SimulatedMqttStats = {
    connections: 0,
    authFailures: 0,
    pushalls: 0,
    getVersions: 0,
    ledctrls: 0,
    clients: 0,
  };
  /** Every request payload received, in order (tests check what clients asked for). */
  readonly requests: Json[] = [];
  readonly model: ModelInfo;
  private readonly broker = createBroker();
  private readonly server: Server;
  private readonly sockets = new Set<TLSSocket>();
  private state: Json;
  private timer: NodeJS.Timeout | null = null;
  private tick = 0;
  private accessCode: string;
  private developerMode: boolean;

  constructor(private readonly opts: SimulatedMqttOptions) {
    const model = modelByName(opts.model);
    if (!model) throw new Error(`simulator: unknown model ${opts.model}`);
    this.model = model;
    this.accessCode = opts.accessCode;
    this.developerMode = opts.developerMode ?? true;
    this.state = this.initialState(opts.liveview ?? true);
    this.broker.authenticate = (_client, username, password, done) => {
      if (username === MQTT_USER && password?.toString() === this.accessCode) return done(null, true);
      this.stats.authFailures++;
      const err = Object.assign(new Error('not authorized'), { returnCode: 5 as const });
      done(err, false);
    };
    this.broker.authorizePublish = (client, packet, done) => {
      if (client && packet.topic !== requestTopic(opts.serial)) return done(new Error('topic not allowed'));
      done(null);
    };
    this.broker.authorizeSubscribe = (_client, sub, done) => {
      done(null, sub.topic === reportTopic(opts.serial) ? sub : null);
    };
    this.broker.on('client', () => {
      this.stats.connections++;
      this.stats.clients++;
    });
    this.broker.on('clientDisconnect', () => {
      this.stats.clients--;
    });
    this.broker.on('publish', (packet, client) => {
      if (client && packet.topic === requestTopic(opts.serial)) this.onRequest(client, packet.payload);
    });
    const identity = opts.identity ?? generateCertificate({ commonName: opts.serial, issuerName: 'BBL CA' });
    this.server = createServer({ ...identity, minVersion: 'TLSv1.2' }, (socket) => {
      this.sockets.add(socket);
      socket.on('error', () => {});
      socket.once('close', () => this.sockets.delete(socket));
      this.broker.handle(socket);
    });
  }

  /** X1-type printers send their full state in every report; P1-type ones send changes. */
  get sendsFullState(): boolean {
    return this.model.camera === 'rtsps';
  }

  get port(): number {
    const addr = this.server.address();
    if (!addr || typeof addr === 'string') throw new Error('simulator MQTT is not listening');
    return addr.port;
  }

  get chamberLight(): string {
    const lights = this.state.lights_report as { node: string; mode: string }[];
    return lights.find((l) => l.node === 'chamber_light')?.mode ?? 'off';
  }

  async start(): Promise<void> {
    await listenOn(this.server, this.opts.port ?? 0, this.opts.host ?? '127.0.0.1');
    this.timer = setInterval(() => this.report(), this.opts.reportIntervalMs ?? 2000);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.dropAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await new Promise<void>((resolve) => this.broker.close(() => resolve()));
  }

  /** Close every MQTT connection at once (a printer losing its network). */
  dropAll(): void {
    for (const s of this.sockets) s.destroy();
  }

  setAccessCode(code: string): void {
    this.accessCode = code;
  }

  setDeveloperMode(on: boolean): void {
    this.developerMode = on;
  }

  /** Switch LAN Only Liveview (X1-type printers: `ipcam.rtsp_url` becomes "disable"). */
  setLiveview(on: boolean): void {
    if (this.model.camera !== 'rtsps') return;
    const ipcam = { rtsp_url: on ? this.rtspUrl() : 'disable' };
    this.state = mergeState(this.state, { ipcam });
    this.publish({ print: { command: 'push_status', sequence_id: String(++this.tick), ipcam } });
  }

  private rtspUrl(): string {
    return `rtsps://${this.opts.reportedIp ?? '192.168.1.100'}/streaming/live/1`;
  }

  private initialState(liveview: boolean): Json {
    const ipcam: Json = {
      ipcam_dev: '1',
      ipcam_record: 'enable',
      timelapse: 'disable',
      resolution: this.model.camera === 'rtsps' ? '1080p' : '720p',
      tutk_server: 'disable',
      mode_bits: 3,
    };
    // Chamber-image models have no rtsp_url at all (PROTOCOLS.md §4).
    if (this.model.camera === 'rtsps') ipcam.rtsp_url = liveview ? this.rtspUrl() : 'disable';
    return {
      command: 'push_status',
      gcode_state: 'IDLE',
      mc_percent: 0,
      mc_remaining_time: 0,
      wifi_signal: '-48dBm',
      nozzle_temper: 24,
      bed_temper: 23,
      ipcam,
      net: {
        conf: 16,
        info: [
          { ip: ipToLittleEndianU32(this.opts.reportedIp ?? '192.168.1.100'), mask: 16777215 },
          { ip: 0, mask: 0 },
        ],
      },
      lights_report: [{ node: 'chamber_light', mode: 'off' }],
    };
  }

  private publish(message: Json): void {
    this.broker.publish(
      {
        cmd: 'publish',
        topic: reportTopic(this.opts.serial),
        payload: JSON.stringify(message),
        qos: 0,
        retain: false,
        dup: false,
      },
      () => {},
    );
  }

  private fullReport(sequenceId: string): void {
    this.publish({ print: { ...this.state, sequence_id: sequenceId, msg: 0 } });
  }

  private report(): void {
    if (this.stats.clients === 0) return;
    const seq = String(++this.tick);
    this.state = mergeState(this.state, { nozzle_temper: 24 + (this.tick % 3) });
    if (this.sendsFullState) this.fullReport(seq);
    else
      this.publish({
        print: { command: 'push_status', sequence_id: seq, msg: 1, nozzle_temper: this.state.nozzle_temper },
      });
  }

  private onRequest(_client: Client, payload: Buffer | string): void {
    const message = parseMessage(Buffer.from(payload));
    if (!message) return;
    this.requests.push(message);
    const pushing = message.pushing as Json | undefined;
    const info = message.info as Json | undefined;
    const system = message.system as Json | undefined;
    if (pushing?.command === 'pushall') {
      this.stats.pushalls++;
      this.fullReport(String(pushing.sequence_id ?? '0'));
    } else if (info?.command === 'get_version') {
      this.stats.getVersions++;
      this.publish({
        info: {
          command: 'get_version',
          sequence_id: String(info.sequence_id ?? '0'),
          module: [
            {
              name: 'ota',
              product_name: `Bambu Lab ${this.model.product}`,
              project_name: this.model.codes[0],
              sw_ver: this.opts.firmware ?? '01.08.00.00',
              hw_ver: 'OTA',
              sn: this.opts.serial,
            },
            { name: 'mc', sw_ver: '00.00.30.80', hw_ver: 'MC07', sn: 'mc' },
          ],
          result: 'success',
        },
      });
    } else if (system?.command === 'ledctrl') {
      this.stats.ledctrls++;
      this.onLedctrl(system);
    }
  }

  private onLedctrl(system: Json): void {
    const echo = { ...system };
    const complete = [
      'led_node',
      'led_mode',
      'led_on_time',
      'led_off_time',
      'loop_times',
      'interval_time',
    ].every((k) => system[k] !== undefined);
    if (!this.developerMode) {
      // Newer firmware refuses unsigned control commands unless developer mode is on.
      this.publish({
        system: { ...echo, result: 'failed', reason: 'mqtt message verify failed', err_code: 84033543 },
      });
      return;
    }
    if (!complete || system.led_node !== 'chamber_light') return; // printers silently ignore these
    const lights_report = [{ node: 'chamber_light', mode: String(system.led_mode) }];
    this.state = mergeState(this.state, { lights_report });
    this.publish({ system: { ...echo, result: 'success' } });
    this.publish({ print: { command: 'push_status', sequence_id: String(++this.tick), lights_report } });
  }
}
