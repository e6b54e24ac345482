/**
 * RTSPS printers (H.264 only) → JPEG: one ffmpeg per printer while anyone wants JPEG (snapshot,
 * MJPEG, native :6000). It subscribes to the H264Stream, so it starts on the cached keyframe at
 * once, and publishes JFIF frames into the JPEG hub at about `fps`.
 */
import type { H264Reader, H264Stream, StreamUnit } from '../hub/h264-stream';
import type { JpegHub } from '../hub/jpeg-hub';
import type { Logger } from '../log';
import { toAnnexB } from '../protocol/h264';
import { JpegStreamSplitter } from '../protocol/jpeg-splitter';
import { h264ToJpegArgs } from './args';
import { fpsModeOption } from './locate';
import { FfmpegProcess } from './process';

export interface H264ToJpegDecoderOptions {
  ffmpegPath: string;
  stream: H264Stream;
  hub: JpegHub;
  log: Logger;
  fps?: number;
  silentMs?: number;
  backoffMs?: number[];
}

export const DECODER_FPS = 2;
/** Input waiting in ffmpeg's pipe beyond this: drop until the next keyframe. */
const MAX_BACKLOG_BYTES = 4 * 1024 * 1024;

export class H264ToJpegDecoder {
  readonly process: FfmpegProcess;
  private reader: H264Reader | null = null;
  private waitingForKey = true;
  private splitter = new JpegStreamSplitter();
  unitsDropped = 0;

  constructor(private readonly opts: H264ToJpegDecoderOptions) {
    this.process = new FfmpegProcess({
      path: opts.ffmpegPath,
      args: h264ToJpegArgs({ fps: opts.fps ?? DECODER_FPS, fpsModeOption: fpsModeOption(opts.ffmpegPath) }),
      log: opts.log,
      stdinIsInput: true,
      silentMs: opts.silentMs ?? 15_000,
      backoffMs: opts.backoffMs,
      onStdout: (chunk) => this.onOutput(chunk),
    });
    this.process.on('spawn', () => {
      this.splitter = new JpegStreamSplitter();
      this.waitingForKey = true;
      // A fresh decoder starts on the cached GOP, not on whatever comes next.
      for (const unit of opts.stream.currentGop) this.offer(unit);
    });
  }

  get running(): boolean {
    return this.reader !== null;
  }

  start(): void {
    if (this.reader) return;
    this.opts.log.info(`starting the JPEG decoder (${this.opts.fps ?? DECODER_FPS} fps)`);
    // Subscribe first (the GOP is ignored while no process runs), then spawn: the 'spawn' handler
    // feeds the GOP once.
    this.reader = this.opts.stream.subscribe(
      {
        send: (unit, done) => {
          this.offer(unit);
          done();
        },
        close: () => void this.stop(),
      },
      { output: 'decoder' },
    );
    this.process.start();
  }

  private offer(unit: StreamUnit): void {
    if (!this.process.running) {
      this.waitingForKey = true;
      return;
    }
    if (this.waitingForKey && !unit.key) return;
    if (this.process.stdinBacklog > MAX_BACKLOG_BYTES) {
      this.unitsDropped++;
      this.waitingForKey = true;
      return;
    }
    this.waitingForKey = false;
    this.process.write(toAnnexB(unit.nals));
  }

  private onOutput(chunk: Buffer): void {
    let jpegs: Buffer[];
    try {
      jpegs = this.splitter.push(chunk);
    } catch (err) {
      this.opts.log.warn((err as Error).message);
      return;
    }
    for (const jpeg of jpegs) this.opts.hub.publish(jpeg);
  }

  async stop(): Promise<void> {
    if (!this.reader) return;
    this.opts.log.info('stopping the JPEG decoder (nobody is watching)');
    this.reader.unsubscribe();
    this.reader = null;
    await this.process.stop();
  }
}
