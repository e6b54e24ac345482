/**
 * One printer's HLS output: the printer's H.264 stream, segmented in-process (no re-encoding, no
 * ffmpeg, no disk). Started by the first playlist request, which waits (bounded) until a playable
 * playlist exists; stopped after `idleStopMs` without playlist or segment requests. However many
 * viewers there are, there is one muxer and one H.264 subscription per printer.
 */
import { EventEmitter } from 'node:events';
import type { H264Stream, H264Subscriber, StreamUnit } from '../hub/h264-stream';
import type { Logger } from '../log';
import { type Segment, Segmenter, type SegmenterOptions } from './segmenter';

export interface HlsMuxerOptions extends SegmenterOptions {
  stream: H264Stream;
  log: Logger;
  /** Stop after this long without a request. */
  idleStopMs?: number;
  /** How long the first playlist request waits for a playable playlist. */
  startWaitMs?: number;
  /** Why this printer has no H.264 (no ffmpeg for a chamber printer), or null. */
  unavailable?: () => string | null;
}

export const HLS_IDLE_STOP_MS = 30_000;
export const HLS_START_WAIT_MS = 15_000;

export class HlsUnavailableError extends Error {}

export class HlsMuxer extends EventEmitter {
  starts = 0;
  private segmenter: Segmenter | null = null;
  private unsubscribe: (() => void) | null = null;
  private release: (() => void) | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private lastRequestAt = 0;
  private nextSeq = 0;
  private closed = false;
  /** Playlist requests waiting for the first segment: the muxer is in use while they wait. */
  private waiting = 0;

  constructor(private readonly opts: HlsMuxerOptions) {
    super();
    this.setMaxListeners(0);
  }

  get running(): boolean {
    return this.segmenter !== null;
  }

  /** A client asked for something: (re)start if needed and push the idle stop back. */
  touch(): void {
    this.lastRequestAt = Date.now();
    if (this.closed || this.segmenter) return;
    const { stream, log } = this.opts;
    this.starts++;
    const segmenter = new Segmenter(this.opts, this.nextSeq);
    this.segmenter = segmenter;
    const sub: H264Subscriber = {
      offer: (unit: StreamUnit) => {
        const seg = segmenter.push(unit.nals, unit.timestamp, unit.key, unit.receivedAt);
        if (seg) this.emit('segment', seg);
      },
      close: () => this.stop('stream closed'),
    };
    // want() first: it starts the chamber encoder of an A1/P1 printer.
    this.release = stream.want();
    this.unsubscribe = stream.subscribe(sub, 'hls');
    const idleMs = this.opts.idleStopMs ?? HLS_IDLE_STOP_MS;
    this.idleTimer = setInterval(
      () => {
        if (this.waiting === 0 && Date.now() - this.lastRequestAt >= idleMs)
          this.stop(`no request for ${Math.round(idleMs / 1000)} s`);
      },
      Math.max(50, Math.min(1000, idleMs / 4)),
    );
    this.idleTimer.unref();
    log.info('HLS muxer started');
  }

  /** The playlist, starting the muxer and waiting for the first segment if needed. */
  async playlist(): Promise<string> {
    const why = this.opts.unavailable?.();
    if (why) throw new HlsUnavailableError(why);
    this.touch();
    const now = this.segmenter?.playlist();
    if (now) return now;
    const waitMs = this.opts.startWaitMs ?? HLS_START_WAIT_MS;
    this.waiting++;
    const ok = await new Promise<boolean>((resolve) => {
      const done = (v: boolean) => {
        this.waiting--;
        clearTimeout(timer);
        this.off('segment', onSegment);
        this.off('stopped', onStop);
        resolve(v);
      };
      const onSegment = () => done(true);
      const onStop = () => done(false);
      const timer = setTimeout(() => done(false), waitMs);
      this.on('segment', onSegment);
      this.on('stopped', onStop);
    });
    const text = ok ? this.segmenter?.playlist() : null;
    if (!text)
      throw new HlsUnavailableError(
        `no H.264 from the printer within ${Math.round(waitMs / 1000)} s; see /api/printers for the source state`,
      );
    this.touch();
    return text;
  }

  /** A segment by sequence number, if it is still held. */
  segment(seq: number): Segment | undefined {
    if (!this.segmenter) return undefined;
    this.lastRequestAt = Date.now();
    return this.segmenter.segment(seq);
  }

  stop(reason = 'stopped'): void {
    if (this.idleTimer) clearInterval(this.idleTimer);
    this.idleTimer = null;
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.release?.();
    this.release = null;
    if (this.segmenter) {
      this.nextSeq = this.segmenter.sequence;
      this.segmenter = null;
      this.opts.log.info(`HLS muxer stopped (${reason})`);
    }
    this.emit('stopped');
  }

  close(): void {
    this.closed = true;
    this.stop('shutting down');
  }

  toJSON(): Record<string, unknown> {
    const s = this.segmenter;
    return {
      running: s !== null,
      starts: this.starts,
      segments: s?.count ?? 0,
      bytes: s?.bytes ?? 0,
      media_sequence: s?.listed[0]?.seq ?? null,
      dropped_pictures: s?.dropped ?? 0,
    };
  }
}
