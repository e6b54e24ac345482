/**
 * PrinterWorker: owns one printer's camera source, its supervisor, its two hubs (JPEG and H.264),
 * the printer's MQTT link, and the transcoder that makes the kind the camera does not: an encoder
 * (JPEG → H.264) for chamber printers, a decoder (H.264 → JPEG) for RTSPS printers. Transcoders run
 * only while someone wants their output and stop after an idle delay. The hubs are the stable
 * objects; connections and processes come and go under them.
 *
 * Outputs see a worker only as a PrinterMedia (src/output/printer-media.ts).
 */

import type { WorkerTuning } from './app-tuning';
import type { PrinterConfig } from './config/load';
import { H264ToJpegDecoder } from './ffmpeg/decoder';
import { JpegToH264Encoder } from './ffmpeg/encoder';
import { FFMPEG_MISSING_HINT } from './ffmpeg/locate';
import { Demand } from './hub/demand';
import type { Frame } from './hub/frame';
import { H264Stream } from './hub/h264-stream';
import { JpegHub } from './hub/jpeg-hub';
import type { Logger } from './log';
import type { OutputStatusJson, PrinterStatus } from './output/api-types';
import type { PrinterCoreStatus, PrinterFacts, PrinterMedia } from './output/printer-media';
import { modelByName, modelBySerial } from './protocol/models';
import { ChamberSource } from './source/chamber';
import { ChamberLight } from './source/chamber-light';
import { type CameraDecision, decideCamera, decideFromConfig, detectCamera } from './source/detect';
import { MqttLink } from './source/mqtt-link';
import { RtspsSource } from './source/rtsps';
import { SourceStatus } from './source/status';
import { Supervisor } from './source/supervisor';

/** Half of idle_stop_s's default (src/app-tuning.ts idleTuning: the App passes the configured value). */
export const IDLE_STOP_MS = 5_000;

export type { WorkerTuning } from './app-tuning';
export type { CameraDecision } from './source/detect';

export class PrinterWorker implements PrinterMedia {
  readonly hub: JpegHub;
  readonly h264: H264Stream;
  readonly status = new SourceStatus();
  /** null while detection runs (camera/model auto). */
  camera: CameraDecision | null;
  encoder: JpegToH264Encoder | null = null;
  decoder: H264ToJpegDecoder | null = null;
  private supervisor: Supervisor | null = null;
  private demand: Demand | null = null;
  private transcoderError: string | null = null;
  private stopping = false;
  // --- printer MQTT link, camera detection, chamber light ---
  readonly mqtt: MqttLink | null;
  private readonly light: ChamberLight | null;
  private detection: { controller: AbortController; done: Promise<void> } | null = null;
  private mqttModelWarned = false;

  constructor(
    readonly printer: PrinterConfig,
    private readonly log: Logger,
    private readonly tuning: WorkerTuning = {},
    /** The ffmpeg binary for transcoders (src/ffmpeg/locate.ts); null: none found. */
    private readonly ffmpegPath: string | null = null,
  ) {
    this.hub = new JpegHub({ stallTimeoutMs: tuning.stallTimeoutMs });
    this.h264 = new H264Stream(printer.id);
    // The MQTT link needs the serial: topics are device/<serial>/...
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
  }

  /** Build the source for the decided camera kind, and the transcoder for the other media kind. */
  private createSource(camera: CameraDecision): void {
    const { printer, log, tuning, ffmpegPath } = this;
    log.info(`camera: ${camera.kind} (${camera.reason})`);
    const idleMs = tuning.idleStopMs ?? IDLE_STOP_MS;
    const common = {
      host: printer.host,
      accessCode: printer.accessCode,
      serial: printer.serial,
      tls: printer.tls,
      status: this.status,
      connectTimeoutMs: tuning.connectTimeoutMs,
      frameTimeoutMs: tuning.frameTimeoutMs,
    };
    let run: (signal: AbortSignal) => Promise<void>;
    const sourceLog = log.child(camera.kind);
    if (camera.kind === 'chamber') {
      const source = new ChamberSource({
        ...common,
        port: printer.ports.chamber,
        log: sourceLog,
        onFrame: (jpeg) => this.hub.publish(jpeg),
      });
      run = (signal) => source.run(signal);
      if (ffmpegPath) {
        const encoder = new JpegToH264Encoder({
          ffmpegPath,
          hub: this.hub,
          stream: this.h264,
          log: log.child('encoder'),
          fps: printer.h264Fps,
          backoffMs: tuning.ffmpegBackoffMs,
        });
        this.encoder = encoder;
        const demand = new Demand(
          idleMs,
          () => encoder.start(),
          () => void encoder.stop(),
        );
        this.demand = demand;
        this.h264.on('demand', (n: number) => !this.stopping && demand.wanted(n));
        // Someone may have asked for H.264 while the camera kind was being detected.
        if (this.h264.demand > 0) demand.wanted(this.h264.demand);
      } else this.noFfmpeg('H.264 (RTSP) for this chamber printer');
    } else {
      const source = new RtspsSource({
        ...common,
        port: printer.ports.rtsps,
        log: sourceLog,
        stream: this.h264,
        wallclock: printer.rtspsWallclock,
      });
      run = (signal) => source.run(signal);
      if (ffmpegPath) {
        const decoder = new H264ToJpegDecoder({
          ffmpegPath,
          stream: this.h264,
          hub: this.hub,
          log: log.child('decoder'),
          fps: printer.jpegFps,
          backoffMs: tuning.ffmpegBackoffMs,
        });
        this.decoder = decoder;
        const demand = new Demand(
          idleMs,
          () => decoder.start(),
          () => void decoder.stop(),
        );
        this.demand = demand;
        this.hub.on('demand', (n: number) => !this.stopping && demand.wanted(n));
        if (this.hub.subscriberCount > 0) demand.wanted(this.hub.subscriberCount);
      } else this.noFfmpeg('JPEG (snapshot, MJPEG) for this RTSPS printer');
    }
    this.supervisor = new Supervisor({
      log: sourceLog,
      status: this.status,
      run,
      backoffMs: tuning.backoffMs,
      longBackoffMs: tuning.longBackoffMs,
    });
  }

  private noFfmpeg(what: string): void {
    this.transcoderError = `${FFMPEG_MISSING_HINT}; without it there is no ${what}`;
    this.log.error(this.transcoderError);
  }

  get id(): string {
    return this.printer.id;
  }

  get name(): string {
    return this.printer.name;
  }

  get serial(): string | null {
    return this.printer.serial;
  }

  get config(): Readonly<PrinterConfig> {
    return this.printer;
  }

  get jpeg(): JpegHub {
    return this.hub;
  }

  facts(): PrinterFacts {
    return {
      state: this.status.state,
      reason: this.status.reason,
      model: this.modelName,
      camera: this.camera?.kind ?? null,
      firmware: this.mqtt?.version?.firmware ?? null,
      fps: this.hub.fps(),
      upstreamConnectionsOpened: this.status.connectionsOpened,
      h264Unavailable: this.camera?.kind === 'chamber' && !this.encoder ? this.transcoderError : null,
    };
  }

  /** A snapshot, counted in the JPEG hub's 'snapshot' output like every other reader. */
  async snapshot(waitMs: number): Promise<Frame | null> {
    const counters = this.hub.counters('snapshot');
    counters.viewers++;
    try {
      const frame = await this.snapshotFrame(waitMs);
      if (frame) counters.delivered++;
      return frame;
    } finally {
      counters.viewers--;
    }
  }

  requestKeyframe(): void {
    this.encoder?.requestKeyframe();
  }

  start(): void {
    this.mqtt?.start();
    if (this.camera) {
      this.supervisor?.start();
      return;
    }
    // camera/model auto: detect (MQTT model, serial prefix, port probe), then start.
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
  }

  /**
   * A picture for a snapshot. Chamber printers: the latest one (or the next). RTSPS printers: the
   * decoder may be idle, so start it and wait for a picture made after the request.
   */
  async snapshotFrame(waitMs: number): Promise<Frame | null> {
    const latest = this.hub.latest;
    if (!this.decoder) return latest ?? this.hub.nextFrame(waitMs, 0);
    this.demand?.touch(this.hub.subscriberCount > 0);
    const freshMs = 1000 + 2000 / this.printer.jpegFps;
    if (latest && this.decoder.running && Date.now() - latest.receivedAt < freshMs) return latest;
    return (await this.hub.nextFrame(waitMs, latest?.seq ?? 0)) ?? latest;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.demand?.cancel();
    this.detection?.controller.abort();
    await this.detection?.done;
    await this.light?.stop();
    await Promise.all([this.supervisor?.stop(), this.encoder?.stop(), this.decoder?.stop()]);
    await this.mqtt?.stop();
    this.hub.close();
    this.h264.close();
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

  private transcoderJson(): Record<string, unknown> | null {
    const t = this.encoder ?? this.decoder;
    if (!t)
      return this.transcoderError ? { kind: null, running: false, last_error: this.transcoderError } : null;
    return {
      kind: this.encoder ? 'encoder' : 'decoder',
      running: t.running,
      pid: t.process.pid ?? null,
      starts: t.process.starts,
      restarts: t.process.restarts,
      last_error: t.process.lastError,
    };
  }

  /** The worker's part of the API status (outputs add theirs): never contains the access code or viewer code. */
  statusJson(): PrinterCoreStatus {
    const latest = this.hub.latest;
    const counters = this.hub.outputCounters();
    const outputs: Record<string, OutputStatusJson> = {};
    for (const [name, c] of Object.entries(counters)) {
      const backlogs = this.hub.subscribers(name).map((sub) => sub.backlogBytes());
      outputs[name] = {
        ...c,
        backlog_bytes: backlogs.reduce((a, b) => a + b, 0),
        max_viewer_backlog_bytes: Math.max(0, ...backlogs),
      };
    }
    const viewers: Record<string, number> = Object.fromEntries(
      Object.entries(counters).map(([k, v]) => [k, v.viewers]),
    );
    const h264Outputs = this.h264.outputCounters();
    for (const [k, v] of Object.entries(h264Outputs)) {
      viewers[k] = (viewers[k] ?? 0) + v.viewers;
      const backlogs = this.h264.readersOf(k).map((r) => r.backlogBytes);
      outputs[k] = {
        ...outputs[k],
        ...v,
        backlog_bytes: backlogs.reduce((a, b) => a + b, 0),
        max_viewer_backlog_bytes: Math.max(0, ...backlogs),
      };
    }
    const sps = this.h264.spsInfo;
    return {
      id: this.printer.id,
      name: this.printer.name,
      host: this.printer.host,
      serial: this.printer.serial,
      model: this.modelName,
      camera: this.camera ?? { kind: null, reason: 'detecting' },
      mqtt: (this.mqtt?.toJSON() as PrinterStatus['mqtt']) ?? {
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
      h264: {
        fps: Math.round(this.h264.fps() * 100) / 100,
        pictures_in: this.h264.unitsIn,
        width: sps?.width ?? null,
        height: sps?.height ?? null,
        outputs: h264Outputs,
      },
      transcoder: this.transcoderJson(),
    };
  }
}
