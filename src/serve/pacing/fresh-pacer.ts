/**
 * Fresh pictures for slow viewers (issue 13, finding 4). The hub already keeps one picture in flight
 * per viewer and replaces the pending one with the newest; but "in flight" ended when the kernel took
 * the bytes, and the kernel takes up to its send buffer (megabytes once grown) long before a slow
 * viewer gets them, so such a viewer fell further behind every second.
 *
 * The pacer moves the end of a delivery to when the kernel has about passed the picture on: after a
 * write completes, the next picture may go only once what the kernel still holds for this
 * connection would drain within `lowWaterMs`. So about one picture is in flight, a slow viewer gets
 * fewer pictures (each the newest), and the hub's stall limit still closes one that stops.
 *
 * What the kernel holds is sampled from /proc (KernelQueues, a census every few seconds while a
 * viewer keeps up, every second while it is paced) and extrapolated in between with the drain rate,
 * measured from the bytes acknowledged between samples that both found data queued. Viewers that
 * keep up are never held; one starts being paced when a sample finds more queued than the picture
 * just written, and stops after a run of pictures that were through within QUICK_MS.
 *
 * The drain rate also lets an output send smaller pictures (MJPEG). Without /proc (not Linux) the
 * pacer falls back to the write callbacks: it measures the rate when writes block and never waits.
 */
import type { Socket } from 'node:net';
import type { KernelQueues, KernelWatch } from './kernel-queues';

export const LOW_WATER_MS = 100;
export const MIN_LOW_WATER_BYTES = 4096;
/** Census interval for a viewer that keeps up, and for one being paced or new (its first WARMUP_MS). */
export const FAST_SAMPLE_MS = 5000;
export const PACED_SAMPLE_MS = 1000;
/** A new viewer is looked at as often as a paced one for this long: a slow one is found at once. */
export const WARMUP_MS = 10_000;
/** Pictures in a row through within QUICK_MS before a paced viewer counts as fast again. */
const FAST_STREAK = 5;
const QUICK_MS = 50;
const WAIT_MIN_MS = 20;
const WAIT_MAX_MS = 1000;
/** Busy time after which the rate estimate starts forgetting older samples. */
const RATE_WINDOW_MS = 5000;
/** A write that took longer than this blocked on a full kernel buffer (fallback rate samples). */
const BLOCKED_WRITE_MS = 20;

export interface PacerStatusJson {
  /** Waiting for the kernel to pass each picture on before the next. */
  paced: boolean;
  /** Measured drain rate, bytes per second (null until measured). */
  drain_bytes_per_s: number | null;
  /** Bytes the kernel held for this viewer at the last sample. */
  kernel_queued_bytes: number | null;
  /** Deliveries that waited for the kernel. */
  waits: number;
}

export type WriteFn = (done: (ok: boolean) => void) => void;

interface Sample {
  at: number;
  queued: number;
  /** Bytes written in total when it was taken. */
  sent: number;
}

export class FreshPacer {
  private paced = false;
  private fastStreak = 0;
  private sentTotal = 0;
  private lastPictureBytes = 0;
  private last: Sample | null = null;
  private busyBytes = 0;
  private busyMs = 0;
  private waits = 0;
  private closed = false;
  private watch: KernelWatch | null = null;
  /** The delivery waiting for the kernel: its `next` and since when. */
  private waiting: { next: () => void; since: number } | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly since = Date.now();
  private warm = false;

  constructor(
    private readonly socket: Socket,
    private readonly kernel: KernelQueues | null,
    private readonly opts: { lowWaterMs?: number; fastSampleMs?: number; pacedSampleMs?: number } = {},
  ) {}

  /** Drain rate in bytes per second, or null until measured. */
  rate(): number | null {
    return this.busyMs >= 200 ? (this.busyBytes * 1000) / this.busyMs : null;
  }

  /** Largest picture that drains within `ms` at the measured rate; null while unknown. */
  pictureBudget(ms: number): number | null {
    const r = this.rate();
    return r === null ? null : (r * ms) / 1000;
  }

  status(): PacerStatusJson {
    const r = this.rate();
    return {
      paced: this.paced,
      drain_bytes_per_s: r === null ? null : Math.round(r),
      kernel_queued_bytes: this.last?.queued ?? null,
      waits: this.waits,
    };
  }

  close(): void {
    this.closed = true;
    this.waiting = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.watch?.close();
  }

  /**
   * Write one picture of `bytes` with `write`; call `next` once another picture may be written.
   * `next` is not called when the write failed or the pacer was closed.
   */
  deliver(bytes: number, write: WriteFn, next: () => void): void {
    const startedAt = Date.now();
    write((ok) => {
      if (!ok || this.closed) return;
      this.sentTotal += bytes;
      this.lastPictureBytes = bytes;
      if (!this.kernel?.available) {
        const took = Date.now() - startedAt;
        if (took > BLOCKED_WRITE_MS) this.addBusy(bytes, took);
        next();
        return;
      }
      this.watch ??= this.kernel.watch(this.socket, this.sampleEvery(), (q, at) => this.onSample(q, at));
      if (!this.paced) {
        next();
        return;
      }
      this.waiting = { next, since: Date.now() };
      this.evaluate();
    });
  }

  private sampleEvery(): number {
    return this.paced || Date.now() - this.since < WARMUP_MS
      ? (this.opts.pacedSampleMs ?? PACED_SAMPLE_MS)
      : (this.opts.fastSampleMs ?? FAST_SAMPLE_MS);
  }

  private setPaced(paced: boolean): void {
    if (paced === this.paced) return;
    this.paced = paced;
    this.fastStreak = 0;
    this.watch?.setInterval(this.sampleEvery());
  }

  private lowWater(): number {
    const r = this.rate();
    const ms = this.opts.lowWaterMs ?? LOW_WATER_MS;
    return Math.max(MIN_LOW_WATER_BYTES, r === null ? 0 : (r * ms) / 1000);
  }

  /** What the kernel holds now, from the last sample, the bytes written since and the rate. */
  private estimate(now: number): number | null {
    const s = this.last;
    if (!s) return null;
    const held = s.queued + (this.sentTotal - s.sent);
    const r = this.rate();
    if (r === null) return held;
    return Math.max(0, held - (r * (now - s.at)) / 1000);
  }

  private onSample(queued: number | null, at: number): void {
    if (this.closed) return;
    // The warm-up ended for a viewer that keeps up: back to the slower census.
    if (!this.warm && at - this.since >= WARMUP_MS) {
      this.warm = true;
      if (!this.paced) this.watch?.setInterval(this.sampleEvery());
    }
    if (queued === null) {
      // The connection is gone from the table (closing) or /proc went away: do not hold anyone.
      this.release();
      return;
    }
    const prev = this.last;
    const acked = this.sentTotal - queued;
    // Bytes acknowledged between two samples that both found data queued: the link was busy.
    if (prev && prev.queued > 0 && queued > 0 && at > prev.at) {
      const prevAcked = prev.sent - prev.queued;
      if (acked >= prevAcked) this.addBusy(acked - prevAcked, at - prev.at);
    }
    this.last = { at, queued, sent: this.sentTotal };
    this.watch?.setInterval(this.sampleEvery()); // the warm-up may have ended
    // Something older than the picture just written is still queued: this viewer is behind.
    if (!this.paced && queued > this.lastPictureBytes + MIN_LOW_WATER_BYTES) this.setPaced(true);
    this.evaluate();
  }

  /** Let the waiting delivery go if the kernel holds little enough, else look again when it should. */
  private evaluate(): void {
    if (!this.waiting || this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const now = Date.now();
    const held = this.estimate(now);
    const low = this.lowWater();
    if (held !== null && held <= low) {
      this.release();
      return;
    }
    const r = this.rate();
    // Without a rate, the next sample decides; with one, look again when it should have drained.
    if (held === null || !r) return;
    const eta = ((held - low) * 1000) / r;
    this.timer = setTimeout(() => this.evaluate(), Math.min(WAIT_MAX_MS, Math.max(WAIT_MIN_MS, eta)));
    this.timer.unref();
  }

  private release(): void {
    const w = this.waiting;
    if (!w) return;
    this.waiting = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (Date.now() - w.since <= QUICK_MS) {
      if (++this.fastStreak >= FAST_STREAK) this.setPaced(false);
    } else {
      this.fastStreak = 0;
      this.waits++;
    }
    if (!this.socket.destroyed) w.next();
  }

  private addBusy(bytes: number, ms: number): void {
    this.busyBytes += bytes;
    this.busyMs += ms;
    if (this.busyMs > RATE_WINDOW_MS) {
      const keep = RATE_WINDOW_MS / 2 / this.busyMs;
      this.busyBytes *= keep;
      this.busyMs *= keep;
    }
  }
}
