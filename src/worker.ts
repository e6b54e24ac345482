/**
 * PrinterWorker: owns one printer's camera source, its supervisor and its JPEG hub.
 * The hub is the stable object; connections come and go under it.
 */
import type { PrinterConfig } from './config/load';
import { JpegHub } from './hub/jpeg-hub';
import type { Logger } from './log';
import { modelByName, modelBySerial } from './protocol/models';
import { ChamberSource } from './source/chamber';
import { ChamberLight } from './source/chamber-light';
import { type CameraDecision, decideCamera, decideFromConfig, detectCamera } from './source/detect';
import { MqttLink, type MqttLinkTuning } from './source/mqtt-link';
import { SourceStatus } from './source/status';
import { Supervisor } from './source/supervisor';

export interface WorkerTuning {
  backoffMs?: number[];
  longBackoffMs?: number[];
  connectTimeoutMs?: number;
  frameTimeoutMs?: number;
  stallTimeoutMs?: number;
  /** MQTT link tuning (backoff defaults to the camera's). */
  mqtt?: MqttLinkTuning;
  /** How long camera detection waits for the printer's MQTT model. */
  detectWaitMs?: number;
  probeTimeoutMs?: number;
  lightOffDelayMs?: number;
}

export type { CameraDecision } from './source/detect';

export class PrinterWorker {
  readonly hub: JpegHub;
  readonly status = new SourceStatus();
  /** Status of this printer's native servers, registered by whoever runs them (the App). */
  readonly native: Record<string, () => unknown> = {};
  /** null while detection runs (camera/model auto). */
  camera: CameraDecision | null;
  private supervisor: Supervisor | null = null;
  // --- printer MQTT link, camera detection, chamber light (issue 6) ---
  readonly mqtt: MqttLink | null;
  private readonly light: ChamberLight | null;
  private detection: { controller: AbortController; done: Promise<void> } | null = null;
  private mqttModelWarned = false;
  // ---

  constructor(
    readonly printer: PrinterConfig,
    private readonly log: Logger,
    private readonly tuning: WorkerTuning = {},
  ) {
    this.hub = new JpegHub({ stallTimeoutMs: tuning.stallTimeoutMs });
    // --- issue 6: MQTT link (needs the serial: topics are device/<serial>/...) and light ---
    this.mqtt =
      printer.mqtt && printer.serial
        ? new MqttLink({
            host: printer.host,
            port: printer.ports.mqtt,
            accessCode: printer.accessCode,
            serial: printer.serial,
            tls: printer.tls,
            log: log.child('mqtt'),
            modelHint:
              (printer.model !== 'auto' ? modelByName(printer.model) : undefined) ??
              modelBySerial(printer.serial),
            backoffMs: tuning.backoffMs,
            longBackoffMs: tuning.longBackoffMs,
            connectTimeoutMs: tuning.connectTimeoutMs,
            ...tuning.mqtt,
          })
        : null;
    this.light =
      this.mqtt && printer.light === 'auto'
        ? new ChamberLight({ link: this.mqtt, log: log.child('light'), offDelayMs: tuning.lightOffDelayMs })
        : null;
    if (this.light) this.hub.on('demand', (n: number) => this.light?.setViewers(n));
    this.mqtt?.on('version', () => this.checkMqttModel());
    // With MQTT, the printer's own word on the model comes before the serial prefix: decide in start().
    this.camera = this.mqtt ? decideFromConfig(printer) : decideCamera(printer);
    if (this.camera) this.createSource(this.camera);
    // ---
  }

  private createSource(camera: CameraDecision): void {
    const { printer, log, tuning } = this;
    log.info(`camera: ${camera.kind} (${camera.reason})`);
    if (camera.kind === 'chamber') {
      const sourceLog = log.child('chamber');
      const source = new ChamberSource({
        host: printer.host,
        port: printer.ports.chamber,
        accessCode: printer.accessCode,
        serial: printer.serial,
        tls: printer.tls,
        log: sourceLog,
        status: this.status,
        onFrame: (jpeg) => this.hub.publish(jpeg),
        connectTimeoutMs: tuning.connectTimeoutMs,
        frameTimeoutMs: tuning.frameTimeoutMs,
      });
      this.supervisor = new Supervisor({
        log: sourceLog,
        status: this.status,
        run: (signal) => source.run(signal),
        backoffMs: tuning.backoffMs,
        longBackoffMs: tuning.longBackoffMs,
      });
    } else {
      this.supervisor = null;
      this.status.set('offline', 'RTSPS cameras (X1/H2/P2 printers) are not supported by this version yet');
    }
  }

  get id(): string {
    return this.printer.id;
  }

  start(): void {
    this.mqtt?.start();
    if (this.camera) {
      this.supervisor?.start();
      return;
    }
    // --- issue 6: camera/model auto: detect (MQTT model, serial prefix, port probe), then start ---
    const controller = new AbortController();
    this.status.set('idle', 'detecting the camera kind (MQTT model, serial prefix, port probe)');
    const done = detectCamera({
      printer: this.printer,
      mqtt: this.mqtt,
      signal: controller.signal,
      mqttWaitMs: this.tuning.detectWaitMs,
      probeTimeoutMs: this.tuning.probeTimeoutMs,
    }).then(
      (decision) => {
        if (controller.signal.aborted) return;
        this.camera = decision;
        this.createSource(decision);
        this.supervisor?.start();
      },
      (err: Error) => this.status.set('offline', `camera detection failed: ${err.message}`),
    );
    this.detection = { controller, done };
    // ---
  }

  async stop(): Promise<void> {
    this.detection?.controller.abort();
    await this.detection?.done;
    await this.light?.stop();
    await this.supervisor?.stop();
    await this.mqtt?.stop();
    this.hub.close();
  }

  /** Say once when the printer names a model whose camera differs from the one in use. */
  private checkMqttModel(): void {
    const model = this.mqtt?.model;
    if (!model || !this.camera || model.camera === this.camera.kind || this.mqttModelWarned) return;
    this.mqttModelWarned = true;
    this.log.warn(
      `the printer says it is a ${model.name}, whose camera is ${model.camera}, but ${this.camera.kind} is in use (${this.camera.reason}); set model: ${model.name} or camera: auto`,
    );
  }

  /** The configured model, else the one the printer names over MQTT, else the serial prefix's. */
  get modelName(): string {
    if (this.printer.model !== 'auto') return this.printer.model;
    const model = this.mqtt?.model ?? (this.printer.serial ? modelBySerial(this.printer.serial) : undefined);
    return model?.name ?? 'auto';
  }

  /** Status for the API: never contains the access code or viewer code. */
  toJSON(): Record<string, unknown> {
    const latest = this.hub.latest;
    const outputs: Record<string, object> = {};
    for (const [name, counters] of Object.entries(this.hub.outputCounters())) {
      const backlogs = this.hub.subscribers(name).map((sub) => sub.backlogBytes());
      outputs[name] = {
        ...counters,
        backlog_bytes: backlogs.reduce((a, b) => a + b, 0),
        max_viewer_backlog_bytes: Math.max(0, ...backlogs),
      };
    }
    const viewers = Object.fromEntries(
      Object.entries(this.hub.outputCounters()).map(([k, v]) => [k, v.viewers]),
    );
    return {
      id: this.printer.id,
      name: this.printer.name,
      host: this.printer.host,
      serial: this.printer.serial,
      model: this.modelName,
      camera: this.camera ?? { kind: null, reason: 'detecting' },
      mqtt: this.mqtt?.toJSON() ?? {
        state: 'disabled',
        reason: this.printer.serial ? 'mqtt: false in the configuration' : 'no serial configured',
      },
      light: this.light?.toJSON() ?? { mode: this.printer.light },
      source: this.status.toJSON(),
      fps: Math.round(this.hub.fps() * 100) / 100,
      frames_in: this.hub.framesIn,
      last_frame_at: latest ? new Date(latest.receivedAt).toISOString() : null,
      last_frame_age_ms: latest ? Date.now() - latest.receivedAt : null,
      last_frame_bytes: latest ? latest.jpeg.length : null,
      upstream_connections_opened: this.status.connectionsOpened,
      upstream_connections_open: this.status.connectionsOpen,
      viewers,
      outputs,
      native: Object.fromEntries(Object.entries(this.native).map(([name, status]) => [name, status()])),
      urls: {
        snapshot: `/printers/${this.printer.id}/snapshot.jpg`,
        mjpeg: `/printers/${this.printer.id}/stream.mjpeg`,
      },
    };
  }
}
