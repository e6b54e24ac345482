/**
 * One printer's HLS output: the printer's H.264 stream, segmented in-process (no re-encoding, no
 * ffmpeg, no disk). Started by the first playlist request, which waits (bounded) until a playable
 * playlist exists; stopped after `idleStopMs` without playlist or segment requests. However many
 * viewers there are, there is one muxer and one H.264 subscription per printer.
 */
import { EventEmitter } from 'node:events';
import type { H264Reader, H264Sink, H264Stream, StreamUnit } from '../hub/h264-stream';
import type { Logger } from '../log';
import { type Part, type Segment, Segmenter, type SegmenterOptions } from './segmenter';

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

/** Half of idle_stop_s's default: the encoder behind the muxer waits the other half (src/app-tuning.ts). */
export const HLS_IDLE_STOP_MS = 5_000;
export const HLS_START_WAIT_MS = 15_000;

export class HlsUnavailableError extends Error {}

export class HlsMuxer extends EventEmitter {
  starts = 0;
  private segmenter: Segmenter | null = null;
  private reader: H264Reader | null = null;
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
    const sink: H264Sink = {
      send: (unit: StreamUnit, done) => {
        const { segment, part } = segmenter.push(unit.nals, unit.timestamp, unit.key, unit.receivedAt);
        if (part) this.emit('part', part);
        if (segment) this.emit('segment', segment);
        done();
      },
      close: () => this.stop('stream closed'),
    };
    // Subscribing is wanting: it starts the chamber encoder of an A1/P1 printer.
    this.reader = stream.subscribe(sink, { output: 'hls' });
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

  /** Resolves true when `ready()` holds after a segment or part event, false after `ms`. */
  private async waitUntil(ready: () => boolean, ms: number): Promise<boolean> {
    if (ready()) return true;
    this.waiting++;
    try {
      return await new Promise<boolean>((resolve) => {
        const done = (v: boolean) => {
          clearTimeout(timer);
          this.off('segment', check);
          this.off('part', check);
          this.off('stopped', onStop);
          resolve(v);
        };
        const check = () => ready() && done(true);
        const onStop = () => done(false);
        const timer = setTimeout(() => done(ready()), ms);
        this.on('segment', check);
        this.on('part', check);
        this.on('stopped', onStop);
      });
    } finally {
      this.waiting--;
      this.lastRequestAt = Date.now();
    }
  }

  /**
   * The playlist, starting the muxer and waiting for the first segment if needed. With `msn`
   * (LL-HLS `_HLS_msn`, `_HLS_part`) it waits until that segment or part is listed, up to three
   * target durations, and then answers with what it has.
   */
  async playlist(msn: number | null = null, part: number | null = null): Promise<string> {
    const why = this.opts.unavailable?.();
    if (why) throw new HlsUnavailableError(why);
    this.touch();
    const waitMs = this.opts.startWaitMs ?? HLS_START_WAIT_MS;
    if (!(await this.waitUntil(() => (this.segmenter?.count ?? 0) > 0, waitMs)))
      throw new HlsUnavailableError(
        `no H.264 from the printer within ${Math.round(waitMs / 1000)} s; see /api/printers for the source state`,
      );
    const seg = this.segmenter;
    if (msn !== null && seg) {
      // A request far beyond the live edge is answered at once (RFC 8216bis §6.2.5.2 asks for 400).
      const far = msn > seg.sequence + 2;
      if (!far) await this.waitUntil(() => seg.has(msn, part), 3 * 1000 * Math.max(1, seg.targetDuration));
    }
    const text = this.segmenter?.playlist();
    if (!text) throw new HlsUnavailableError('the HLS muxer stopped');
    return text;
  }

  /** A segment by sequence number, if it is still held. */
  segment(seq: number): Segment | undefined {
    if (!this.segmenter) return undefined;
    this.lastRequestAt = Date.now();
    return this.segmenter.segment(seq);
  }

  /**
   * A part of a recent segment or of the one being made. The part named by the preload hint (not
   * made yet) is waited for, up to three target durations, as LL-HLS asks of servers.
   */
  async part(seq: number, index: number): Promise<Part | undefined> {
    const seg = this.segmenter;
    if (!seg) return undefined;
    this.lastRequestAt = Date.now();
    const now = seg.part(seq, index);
    if (now || !seg.isNextPart(seq, index)) return now;
    await this.waitUntil(() => seg.part(seq, index) !== undefined, 3000 * seg.targetDuration);
    return seg.part(seq, index);
  }

  stop(reason = 'stopped'): void {
    if (this.idleTimer) clearInterval(this.idleTimer);
    this.idleTimer = null;
    this.reader?.unsubscribe();
    this.reader = null;
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
