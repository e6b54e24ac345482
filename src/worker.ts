/**
 * PrinterWorker: owns one printer's camera source, its supervisor and its JPEG hub.
 * The hub is the stable object; connections come and go under it.
 */
import type { PrinterConfig } from './config/load';
import { JpegHub } from './hub/jpeg-hub';
import type { Logger } from './log';
import { type CameraKind, modelByName, modelBySerial } from './protocol/models';
import { ChamberSource } from './source/chamber';
import { SourceStatus } from './source/status';
import { Supervisor } from './source/supervisor';

export interface WorkerTuning {
  backoffMs?: number[];
  longBackoffMs?: number[];
  connectTimeoutMs?: number;
  frameTimeoutMs?: number;
  stallTimeoutMs?: number;
}

export interface CameraDecision {
  kind: CameraKind;
  reason: string;
}

/** Decide the camera transport from what the configuration says (MQTT and probing come later). */
export function decideCamera(printer: PrinterConfig): CameraDecision {
  if (printer.camera !== 'auto')
    return { kind: printer.camera, reason: `camera: ${printer.camera} in the configuration` };
  const model = printer.model !== 'auto' ? modelByName(printer.model) : undefined;
  if (model) return { kind: model.camera, reason: `model ${model.name} in the configuration` };
  const bySerial = printer.serial ? modelBySerial(printer.serial) : undefined;
  if (bySerial) return { kind: bySerial.camera, reason: `serial number prefix of a ${bySerial.name}` };
  return { kind: 'chamber', reason: 'no model or serial configured: assuming an A1/P1 chamber camera' };
}

export class PrinterWorker {
  readonly hub: JpegHub;
  readonly status = new SourceStatus();
  readonly camera: CameraDecision;
  /** Status of this printer's native servers, registered by whoever runs them (the App). */
  readonly native: Record<string, () => unknown> = {};
  private readonly supervisor: Supervisor | null;

  constructor(
    readonly printer: PrinterConfig,
    log: Logger,
    tuning: WorkerTuning = {},
  ) {
    this.hub = new JpegHub({ stallTimeoutMs: tuning.stallTimeoutMs });
    this.camera = decideCamera(printer);
    log.info(`camera: ${this.camera.kind} (${this.camera.reason})`);
    if (this.camera.kind === 'chamber') {
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
    this.supervisor?.start();
  }

  async stop(): Promise<void> {
    await this.supervisor?.stop();
    this.hub.close();
  }

  /** Status for the API: never contains the access code or viewer code. */
  toJSON(): Record<string, unknown> {
    const latest = this.hub.latest;
    const outputs = this.hub.outputCounters();
    const viewers = Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, v.viewers]));
    return {
      id: this.printer.id,
      name: this.printer.name,
      host: this.printer.host,
      serial: this.printer.serial,
      model: this.printer.model,
      camera: this.camera,
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
