/**
 * The per-printer H.264 fan-out point, twin of the JPEG hub. Sources push access units; the stream
 * keeps SPS/PPS and the current GOP (from the last keyframe) and hands every unit to its readers,
 * each through a bounded queue (src/hub/h264-reader.ts). A new reader gets the GOP at once and so
 * starts on a keyframe. Subscribing is wanting: the first reader (or hold) starts whatever makes
 * the stream, the last one leaving starts its idle stop. The hub knows no transport: RTP belongs to
 * the outputs that speak it.
 *
 * It outlives source restarts: `discontinuity()` re-bases timestamps so every reader sees one
 * continuous timeline across encoder or printer reconnects.
 */

import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { type AccessUnit, NAL, nalType, parseSps, type SpsInfo } from '../protocol/h264';
import { H264Reader, type H264ReadOptions, type H264Sink } from './h264-reader';
import type { StreamCounters, StreamUnit } from './h264-unit';
import { RateMeter } from './rate';

export type { H264Reader, H264ReadOptions, H264Sink } from './h264-reader';
export type { StreamCounters, StreamUnit } from './h264-unit';

/** The GOP cache never holds more than this (a source without keyframes cannot grow it forever). */
export const MAX_GOP_BYTES = 8 * 1024 * 1024;
export const MAX_GOP_UNITS = 600;

export class H264Stream extends EventEmitter {
  sps: Buffer | null = null;
  pps: Buffer | null = null;
  spsInfo: SpsInfo | null = null;
  unitsIn = 0;
  private gop: StreamUnit[] = [];
  private gopBytes = 0;
  private offset: number | null = null;
  private lastOut: number | null = null;
  private lastSource: number | null = null;
  /** Median of recent timestamp steps between 120 fps and 0.5 fps: the picture interval. */
  private frameTicks = 3000;
  private steps: number[] = [];
  private wants = 0;
  private readonly readers = new Set<H264Reader>();
  private readonly outputs = new Map<string, StreamCounters>();
  private readonly rate = new RateMeter();
  private tickTimer: NodeJS.Timeout | null = null;

  constructor(readonly name: string) {
    super();
    this.setMaxListeners(0);
  }

  /** Parameter sets known before any picture (from SDP sprop-parameter-sets). */
  setParameterSets(sps: Buffer, pps: Buffer): void {
    if (!this.sps?.equals(sps)) {
      this.sps = sps;
      try {
        this.spsInfo = parseSps(sps);
      } catch {
        this.spsInfo = null;
      }
    }
    this.pps = pps;
  }

  /** Forget the cached pictures (their source stopped): new viewers wait for a fresh keyframe. */
  dropGop(): void {
    this.gop = [];
    this.gopBytes = 0;
  }

  /** The next unit re-bases timestamps (a new source run or a new encoder process). */
  discontinuity(): void {
    this.offset = null;
  }

  /** Push one access unit with its source timestamp (90 kHz). */
  push(au: AccessUnit, sourceTs: number, receivedAt = Date.now()): StreamUnit {
    let nals = au.nals;
    for (const n of nals) {
      const t = nalType(n);
      if (t === NAL.SPS && !this.sps?.equals(n)) {
        this.sps = n;
        try {
          this.spsInfo = parseSps(n);
        } catch {
          this.spsInfo = null;
        }
      } else if (t === NAL.PPS && !this.pps?.equals(n)) this.pps = n;
    }
    // A keyframe carries its parameter sets in-band, so any decoder can start on it.
    if (au.key && this.sps && this.pps && !nals.some((n) => nalType(n) === NAL.SPS)) {
      nals = [this.sps, this.pps, ...nals];
    }
    const timestamp = this.mapTimestamp(sourceTs >>> 0);
    const unit: StreamUnit = {
      nals,
      key: au.key,
      timestamp,
      bytes: nals.reduce((n, nal) => n + nal.length, 0),
      receivedAt,
    };
    this.unitsIn++;
    this.rate.mark(receivedAt);
    if (au.key) {
      this.gop = [];
      this.gopBytes = 0;
    }
    if (this.gop.length > 0 || au.key) {
      if (this.gopBytes + unit.bytes > MAX_GOP_BYTES || this.gop.length >= MAX_GOP_UNITS) {
        this.gop = [];
        this.gopBytes = 0;
      } else {
        this.gop.push(unit);
        this.gopBytes += unit.bytes;
      }
    }
    // Observers first (an RTP packetizer numbers every unit in order), then the readers.
    this.emit('unit', unit);
    for (const r of this.readers) r.offer(unit);
    return unit;
  }

  private mapTimestamp(src: number): number {
    if (this.lastSource !== null && this.offset !== null) {
      const delta = (src - this.lastSource) >>> 0;
      // A source that jumps back or more than 10 s ahead is treated as a new timeline.
      if (delta > 10 * 90000) this.offset = null;
      else if (delta >= 750 && delta <= 180000) this.noteStep(delta);
    }
    if (this.offset === null) {
      const next =
        this.lastOut === null ? randomBytes(4).readUInt32BE(0) : (this.lastOut + this.frameTicks) >>> 0;
      this.offset = (next - src) >>> 0;
    }
    this.lastSource = src;
    const out = (src + this.offset) >>> 0;
    this.lastOut = out;
    return out;
  }

  private noteStep(delta: number): void {
    this.steps.push(delta);
    if (this.steps.length > 15) this.steps.shift();
    const sorted = [...this.steps].sort((a, b) => a - b);
    this.frameTicks = sorted[sorted.length >> 1];
  }

  /** Units from the last keyframe to now. */
  get currentGop(): readonly StreamUnit[] {
    return this.gop;
  }

  /** Pictures per second from the source's timestamp steps, or null before two pictures. */
  get nominalFps(): number | null {
    return this.steps.length >= 3 ? Math.round((90000 / this.frameTicks) * 1000) / 1000 : null;
  }

  get hasParameters(): boolean {
    return this.sps !== null && this.pps !== null;
  }

  /** Resolves true once SPS and PPS are known, false after `timeoutMs`. */
  waitForParameters(timeoutMs: number): Promise<boolean> {
    if (this.hasParameters) return Promise.resolve(true);
    return new Promise((resolve) => {
      const onUnit = () => {
        if (!this.hasParameters) return;
        clearTimeout(timer);
        this.off('unit', onUnit);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.off('unit', onUnit);
        resolve(false);
      }, timeoutMs);
      this.on('unit', onUnit);
    });
  }

  /**
   * Hold demand without reading (an RTSP DESCRIBE waiting for parameter sets): the maker starts as
   * for a reader. Returns the release, which counts once however often it is called.
   */
  want(): () => void {
    this.changeDemand(1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.changeDemand(-1);
    };
  }

  /** Readers plus holds: what the worker's demand follows. */
  get demand(): number {
    return this.wants;
  }

  private changeDemand(by: number): void {
    this.wants += by;
    this.emit('demand', this.wants);
  }

  /** Attach a reader: it gets the current GOP at once, then every new unit, through its own bounded queue. */
  subscribe(sink: H264Sink, opts: H264ReadOptions): H264Reader {
    const counters = this.counters(opts.output);
    const reader = new H264Reader(sink, opts, counters, (r) => this.detach(r));
    this.readers.add(reader);
    counters.viewers++;
    this.changeDemand(1);
    this.armTick();
    for (const unit of this.gop) reader.offer(unit);
    return reader;
  }

  private detach(reader: H264Reader): void {
    if (!this.readers.delete(reader)) return;
    this.counters(reader.opts.output).viewers--;
    if (this.readers.size === 0) this.stopTick();
    this.changeDemand(-1);
  }

  /** Readers of one output (all when omitted). */
  readersOf(output?: string): H264Reader[] {
    return [...this.readers].filter((r) => !output || r.opts.output === output);
  }

  /** One timer per stream while readers exist: closes readers whose sink stopped taking units. */
  private armTick(): void {
    if (this.tickTimer) return;
    this.tickTimer = setInterval(() => {
      const now = Date.now();
      for (const r of this.readers) {
        if (r.busyFor(now) > r.stallMs) {
          this.counters(r.opts.output).stalled++;
          r.close(`stalled: could not take a picture for ${Math.round(r.stallMs / 1000)} s`);
        }
      }
    }, 500);
    this.tickTimer.unref();
  }

  private stopTick(): void {
    if (this.tickTimer) clearInterval(this.tickTimer);
    this.tickTimer = null;
  }

  counters(output: string): StreamCounters {
    let c = this.outputs.get(output);
    if (!c) {
      c = { viewers: 0, delivered: 0, dropped: 0, stalled: 0 };
      this.outputs.set(output, c);
    }
    return c;
  }

  outputCounters(): Record<string, StreamCounters> {
    return Object.fromEntries([...this.outputs].map(([k, v]) => [k, { ...v }]));
  }

  fps(): number {
    return this.rate.perSecond();
  }

  close(reason = 'shutting down'): void {
    for (const r of [...this.readers]) r.close(reason);
    this.stopTick();
  }
}
