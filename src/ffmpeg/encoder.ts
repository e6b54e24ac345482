/**
 * Chamber printers (JPEG only) → H.264: one ffmpeg per printer while anyone wants H.264.
 *
 * bambucam paces the input: every 1/fps s it writes the newest JPEG to ffmpeg (the same one again
 * when the camera is slower), so the output has a constant frame rate and a keyframe at least every
 * `keyframeSeconds` even when the printer sends 0.5 fps. ffmpeg's output is FLV, whose tags say their
 * length first, so each picture is pushed into the H264Stream the moment its last byte is out of
 * ffmpeg (Annex-B showed a picture complete only when the next began: 100 ms later at 10 fps).
 */
import { performance } from 'node:perf_hooks';
import type { Frame } from '../hub/frame';
import type { H264Stream } from '../hub/h264-stream';
import type { JpegHub, Subscription } from '../hub/jpeg-hub';
import type { Logger } from '../log';
import { FlvAccessUnits, FlvError } from '../protocol/flv';
import type { AccessUnit } from '../protocol/h264';
import { ENCODER_BOUNDARY, jpegToH264Args } from './args';
import { fpsModeOption } from './locate';
import { FfmpegProcess } from './process';

export interface JpegToH264EncoderOptions {
  ffmpegPath: string;
  hub: JpegHub;
  stream: H264Stream;
  log: Logger;
  fps?: number;
  keyframeSeconds?: number;
  /** No H.264 out for this long while fed means ffmpeg hung: restart. */
  silentMs?: number;
  backoffMs?: number[];
}

export const ENCODER_FPS = 10;
const CRLF = Buffer.from('\r\n');
/** One keyframe a second: HLS segments of about 1 s, and well inside the 2 s a late viewer may wait. */
export const KEYFRAME_SECONDS = 1;

export class JpegToH264Encoder {
  keyframeRequests = 0;
  readonly process: FfmpegProcess;
  private sub: Subscription | null = null;
  private latest: Frame | null = null;
  private pacer: NodeJS.Timeout | null = null;
  /** When the next picture is due (performance.now() ms): slots on a fixed grid, so the rate does not drift. */
  private nextAt = 0;
  /** Slot times of the pictures written and not yet out of ffmpeg (one picture in, one out). */
  private slots: number[] = [];
  private units = new FlvAccessUnits();
  /** The output stopped making sense: the rest of this process's output is ignored. */
  private discarding = false;
  private readonly fps: number;
  framesWritten = 0;
  framesSkipped = 0;

  constructor(private readonly opts: JpegToH264EncoderOptions) {
    this.fps = opts.fps ?? ENCODER_FPS;
    this.process = new FfmpegProcess({
      path: opts.ffmpegPath,
      args: jpegToH264Args({
        fps: this.fps,
        keyframeSeconds: opts.keyframeSeconds ?? KEYFRAME_SECONDS,
        fpsModeOption: fpsModeOption(opts.ffmpegPath),
      }),
      log: opts.log,
      stdinIsInput: true,
      silentMs: opts.silentMs ?? 10_000,
      backoffMs: opts.backoffMs,
      onStdout: (chunk) => this.onOutput(chunk),
    });
    this.process.on('spawn', () => {
      // A new process: a new FLV stream and a new timeline, re-based by the stream.
      this.units = new FlvAccessUnits();
      this.discarding = false;
      this.slots = [];
      opts.stream.discontinuity();
    });
  }

  get running(): boolean {
    return this.sub !== null;
  }

  start(): void {
    if (this.sub) return;
    const { hub, log } = this.opts;
    log.info(`starting the H.264 encoder (${this.fps} fps)`);
    this.sub = hub.subscribe(
      {
        send: (frame, done) => {
          this.latest = frame;
          done();
        },
        close: () => {},
      },
      { output: 'encoder' },
    );
    this.process.start();
    this.nextAt = performance.now();
    this.schedule();
  }

  /**
   * The next picture is due one period after the last slot, not one period after the timer fired
   * (setInterval drifts later under load, so the rate would fall below `fps` while the timestamps
   * say `fps`). After a stall longer than a period the grid restarts from now rather than bursting.
   */
  private schedule(): void {
    const period = 1000 / this.fps;
    const now = performance.now();
    this.nextAt = now - this.nextAt > period ? now : this.nextAt + period;
    this.pacer = setTimeout(
      () => {
        this.feed(this.nextAt);
        if (this.pacer) this.schedule();
      },
      Math.max(0, this.nextAt - now),
    );
  }

  private feed(slot: number): void {
    if (!this.latest) return;
    // ffmpeg behind (CPU starved): skip rather than queue, so latency stays bounded.
    if (this.process.stdinBacklog > 2 * this.latest.jpeg.length) {
      this.framesSkipped++;
      return;
    }
    const jpeg = this.latest.jpeg;
    const head = `--${ENCODER_BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: ${jpeg.length}\r\n\r\n`;
    if (this.process.write(Buffer.from(head))) {
      this.process.write(jpeg);
      this.process.write(CRLF);
      this.framesWritten++;
      this.slots.push(slot);
      // ffmpeg lost pictures (it never should): keep the list bounded, the timeline stays monotonic.
      if (this.slots.length > 2 * this.fps) this.slots.shift();
    }
  }

  private onOutput(chunk: Buffer): void {
    if (this.discarding) return;
    let units: AccessUnit[];
    try {
      units = this.units.push(chunk);
    } catch (err) {
      if (!(err instanceof FlvError)) throw err;
      this.discarding = true;
      this.process.abort(`the encoder's output is not valid FLV (${err.message})`);
      return;
    }
    for (const unit of units) {
      // Each picture's timestamp is its slot on the pacer's grid: a constant rate for HLS and RTSP
      // players, and in step with when pictures really leave (a timeline that runs ahead of arrival
      // times makes WebRTC's jitter buffer wait longer). The stream re-bases it per process.
      const slot = this.slots.shift() ?? performance.now();
      this.opts.stream.push(unit, Math.round(slot * 90) >>> 0);
    }
  }

  /**
   * A viewer lost a picture (a WebRTC PLI). ffmpeg cannot be told to make a keyframe while it runs,
   * and the encoder already makes one every second (args.ts), so the next one answers it: counted only.
   */
  requestKeyframe(): void {
    this.keyframeRequests++;
  }

  async stop(): Promise<void> {
    if (!this.sub) return;
    this.opts.log.info('stopping the H.264 encoder (nobody is watching)');
    if (this.pacer) clearTimeout(this.pacer);
    this.pacer = null;
    this.sub.unsubscribe();
    this.sub = null;
    this.latest = null;
    await this.process.stop();
    // A later viewer should not start on minutes-old pictures.
    this.opts.stream.dropGop();
  }
}
