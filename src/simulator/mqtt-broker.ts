/**
 * The printer's MQTT side (TLS :8883, PROTOCOLS.md §5), simulated with an in-process aedes broker:
 * only `bblp` with the access code gets in (anything else: CONNACK 5); reports go to
 * `device/<serial>/report` — the full state every time on X1-type printers, only changed fields on
 * P1-type printers (full state after a pushall); `get_version` is answered, `ledctrl` obeyed (or
 * refused, as printers with developer mode off do), `get_access_code` answered with the code to every
 * subscriber (as printers do), and LAN liveview can be switched off. Tests count the connections and
 * requests it saw and the reports it sent.
 */
import { EventEmitter } from 'node:events';
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
import { preciseNow } from './chamber-camera';

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
  /** Send the full state in every report, as X1-type printers do, whatever the model. */
  fullReports?: boolean;
  /** Stamp each report with `print.sim_sent_at` (ms since the epoch, fractional), for latency benchmarks. */
  stampReports?: boolean;
  firmware?: string;
  identity?: KeyAndCert;
}

export interface SimulatedMqttStats {
  connections: number;
  authFailures: number;
  pushalls: number;
  getVersions: number;
  ledctrls: number;
  accessCodeRequests: number;
  /** Reports published on device/<serial>/report. */
  reports: number;
  /** Clients connected right now. */
  clients: number;
}

type Json = Record<string, unknown>;

/** Events: 'report' (payload: string) for every report published, in order. */
export class SimulatedMqttPrinter extends EventEmitter {
  readonly stats: SimulatedMqttStats = {
    connections: 0,
    authFailures: 0,
    pushalls: 0,
    getVersions: 0,
    ledctrls: 0,
    accessCodeRequests: 0,
    reports: 0,
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
  private offlineUntil = 0;

  constructor(private readonly opts: SimulatedMqttOptions) {
    super();
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
      if (Date.now() < this.offlineUntil) {
        socket.destroy();
        return;
      }
      this.sockets.add(socket);
      socket.on('error', () => {});
      socket.once('close', () => this.sockets.delete(socket));
      this.broker.handle(socket);
    });
  }

  /** X1-type printers send their full state in every report; P1-type ones send changes. */
  get sendsFullState(): boolean {
    return this.opts.fullReports ?? this.model.camera === 'rtsps';
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

  /** Drop every connection and refuse new ones for `ms` (a printer switched off, then on). */
  goOffline(ms: number): void {
    this.offlineUntil = Date.now() + ms;
    this.dropAll();
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

  /**
   * Publish `count` full reports, each with `padBytes` of filler (a long print file name), one every
   * `intervalMs` (0: all at once): fills the socket buffers of a client that stopped reading, in tests
   * and benchmarks. Resolves after the last one.
   */
  async burst(count: number, padBytes = 0, intervalMs = 0): Promise<void> {
    const filler = 'x'.repeat(padBytes);
    for (let i = 0; i < count; i++) {
      this.publish({
        print: { ...this.state, sequence_id: String(++this.tick), msg: 0, subtask_name: filler },
      });
      if (intervalMs > 0) await new Promise((r) => setTimeout(r, intervalMs));
    }
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
      // What makes a real full report a few kilobytes: the AMS and its trays.
      ams: {
        ams: [
          {
            id: '0',
            humidity: '4',
            temp: '24.1',
            tray: ['PLA Basic', 'PETG HF', 'PLA Matte', 'TPU 95A'].map((name, i) => ({
              id: String(i),
              tray_type: name.split(' ')[0],
              tray_sub_brands: name,
              tray_color: ['FFFFFFFF', '000000FF', 'C12E1FFF', '0A2989FF'][i],
              tray_weight: '1000',
              tray_diameter: '1.75',
              nozzle_temp_max: '240',
              nozzle_temp_min: '190',
              remain: 80 - i * 10,
              k: 0.02,
              n: 1,
            })),
          },
        ],
        ams_exist_bits: '1',
        tray_exist_bits: 'f',
        tray_now: '255',
        version: 4,
      },
      hms: [],
      upgrade_state: { sequence_id: 0, progress: '', status: '', consistency_request: false },
      // The rest of a real push_status, so that a full report has a printer's size (a few KB).
      bed_target_temper: 0,
      nozzle_target_temper: 0,
      chamber_temper: 25,
      nozzle_diameter: '0.4',
      nozzle_type: 'hardened_steel',
      fan_gear: 0,
      cooling_fan_speed: '0',
      big_fan1_speed: '0',
      big_fan2_speed: '0',
      heatbreak_fan_speed: '0',
      spd_lvl: 2,
      spd_mag: 100,
      stg: [],
      stg_cur: -1,
      mc_print_stage: '1',
      mc_print_sub_stage: 0,
      mc_print_error_code: '0',
      mc_print_line_number: '0',
      print_error: 0,
      print_type: 'idle',
      layer_num: 0,
      total_layer_num: 0,
      gcode_file: '',
      gcode_file_prepare_percent: '0',
      subtask_name: '',
      subtask_id: '0',
      task_id: '0',
      project_id: '0',
      profile_id: '0',
      queue_number: 0,
      home_flag: 6295960,
      hw_switch_state: 0,
      sdcard: true,
      force_upgrade: false,
      lifecycle: 'product',
      online: { ahb: false, rfid: false, version: 7 },
      xcam: {
        allow_skip_parts: false,
        buildplate_marker_detector: true,
        first_layer_inspector: true,
        halt_print_sensitivity: 'medium',
        print_halt: true,
        printing_monitor: true,
        spaghetti_detector: true,
      },
      upload: {
        file_size: 0,
        finish_size: 0,
        message: 'Good',
        oss_url: '',
        progress: 0,
        sequence_id: '0903',
        speed: 0,
        status: 'idle',
        task_id: '',
        time_remaining: 0,
        trouble_id: '',
      },
      vt_tray: {
        id: '254',
        tray_type: '',
        tray_color: '00000000',
        nozzle_temp_max: '0',
        nozzle_temp_min: '0',
        remain: 0,
        k: 0.02,
        n: 1,
        tag_uid: '0000000000000000',
        tray_id_name: '',
        tray_info_idx: '',
        tray_sub_brands: '',
        tray_weight: '0',
        tray_diameter: '0.00',
        cali_idx: -1,
      },
    };
  }

  private publish(message: Json): void {
    const print = message.print as Json | undefined;
    if (print && this.opts.stampReports) print.sim_sent_at = preciseNow();
    const payload = JSON.stringify(message);
    this.stats.reports++;
    this.emit('report', payload);
    this.broker.publish(
      {
        cmd: 'publish',
        topic: reportTopic(this.opts.serial),
        payload,
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
    } else if (system?.command === 'get_access_code') {
      // Printers answer on the report topic, so every subscriber sees the code.
      this.stats.accessCodeRequests++;
      this.publish({
        system: { ...system, access_code: this.accessCode, result: 'success' },
      });
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
