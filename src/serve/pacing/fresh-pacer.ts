/**
 * Fresh pictures for slow viewers (issue 13, finding 4). The hub already keeps one picture in flight
 * per viewer and replaces the pending one with the newest; but "in flight" ended when the kernel took
 * the bytes, and the kernel takes up to its send buffer (megabytes once grown) long before a slow
 * viewer gets them, so such a viewer fell further behind every second.
 *
 * The pacer moves the end of a delivery to when the kernel has passed the picture on: after a write
 * completes, the next picture may go only once what the kernel still holds for this connection
 * (KernelQueues) would drain within `lowWaterMs`. So about one picture is in flight, a slow viewer
 * gets fewer pictures (each the newest), and the hub's stall limit still closes one that stops.
 *
 * A new viewer is checked early and often: after each of its first `EARLY_CHECKS` pictures, then
 * after 64 KB, 128 KB, 256 KB written, then every `CHECK_EVERY_BYTES` (512 KB) or `checkEveryMs`,
 * whichever comes first. So a slow one is found behind after two pictures, not after the half second (at 30 fps,
 * ~23 pictures: 10 s of backlog at 64 KB/s) that a time-only check let into the kernel; and a viewer
 * that keeps up costs a few checks and never waits. Pictures go at once until a check finds
 * something older than the picture just written still queued; from then on each waits for the
 * kernel, until a run of pictures that had drained by the first check.
 *
 * Reads of the kernel's queues are rationed (KernelQueues: each costs the kernel a walk of its
 * connection table): the early checks and a waiting viewer's polls are urgent (one read per 100 ms
 * for everyone), the routine checks of viewers that keep up wait for the once-a-second census, and
 * a viewer whose queue does not shrink at all (a stalled one) is polled ever less often, up to 2 s.
 *
 * It also measures the drain rate (acknowledged bytes per second while data was queued), which an
 * output can use to send smaller pictures (MJPEG). Without /proc (not Linux) it falls back to the
 * write callbacks: it measures the rate when writes block and does not wait.
 */
import type { Socket } from 'node:net';
import type { KernelQueues } from './kernel-queues';

export const LOW_WATER_MS = 100;
export const MIN_LOW_WATER_BYTES = 4096;
export const CHECK_EVERY_MS = 500;
/** Bytes written to a viewer that keeps up after which its queue is checked before CHECK_EVERY_MS. */
export const CHECK_EVERY_BYTES = 512 * 1024;
/** A new viewer's first checks: after each of its first EARLY_CHECKS pictures, then after this many
 * bytes, doubling up to CHECK_EVERY_BYTES. */
export const EARLY_CHECKS = 4;
export const FIRST_CHECK_BYTES = 64 * 1024;
/** Pictures in a row that drained within QUICK_MS before a paced viewer counts as fast again. */
const FAST_STREAK = 5;
/** Within one urgent read of the kernel's queues (KernelQueues: at most one per 100 ms). */
const QUICK_MS = 150;
const POLL_MIN_MS = 20;
const POLL_MAX_MS = 250;
/** A viewer whose queue did not shrink between two polls is polled ever less often, up to this. */
const POLL_STUCK_MAX_MS = 2000;
/** Busy time after which the rate estimate starts forgetting older samples. */
const RATE_WINDOW_MS = 3000;
/** A write that took longer than this blocked on a full kernel buffer (fallback rate samples). */
const BLOCKED_WRITE_MS = 20;

export interface PacerStatusJson {
  /** Waiting for the kernel to pass each picture on before the next. */
  paced: boolean;
  /** Measured drain rate, bytes per second (null until measured). */
  drain_bytes_per_s: number | null;
  /** Bytes the kernel held for this viewer at the last check. */
  kernel_queued_bytes: number | null;
  /** Deliveries that waited for the kernel. */
  waits: number;
}

export type WriteFn = (done: (ok: boolean) => void) => void;

export class FreshPacer {
  private paced = false;
  private sinceCheck = 0;
  private checkBytes = FIRST_CHECK_BYTES;
  private earlyChecks = EARLY_CHECKS;
  private fastStreak = 0;
  private lastCheckAt = 0;
  private sentTotal = 0;
  private lastQueued: number | null = null;
  private lastSample: { at: number; acked: number; queued: number } | null = null;
  private busyBytes = 0;
  private busyMs = 0;
  private waits = 0;
  private closed = false;
  /** The queue at the last poll while waiting, and the poll delay while it does not shrink. */
  private lastWaitQueued: number | null = null;
  private stuckDelay = 0;

  constructor(
    private readonly socket: Socket,
    private readonly kernel: KernelQueues | null,
    private readonly opts: { lowWaterMs?: number; checkEveryMs?: number } = {},
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
      kernel_queued_bytes: this.lastQueued,
      waits: this.waits,
    };
  }

  close(): void {
    this.closed = true;
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
      const took = Date.now() - startedAt;
      if (!this.kernel?.available) {
        if (took > BLOCKED_WRITE_MS) this.addBusy(bytes, took);
        next();
        return;
      }
      if (this.paced) {
        this.waitForKernel(next, Date.now());
        return;
      }
      next();
      this.sinceCheck += bytes;
      const early = this.earlyChecks > 0;
      if (early) this.earlyChecks--;
      if (
        early ||
        this.sinceCheck >= this.checkBytes ||
        Date.now() - this.lastCheckAt >= (this.opts.checkEveryMs ?? CHECK_EVERY_MS)
      ) {
        if (this.sinceCheck >= this.checkBytes)
          this.checkBytes = Math.min(CHECK_EVERY_BYTES, this.checkBytes * 2);
        this.lastCheckAt = Date.now();
        this.sinceCheck = 0;
        // Early checks are urgent; the routine ones wait for the kernel reader's census.
        void this.sample(early).then((queued) => {
          // Something older than the picture just written is still queued: this viewer is behind.
          if (queued !== null && queued > bytes + MIN_LOW_WATER_BYTES) {
            this.paced = true;
            this.fastStreak = 0;
          }
        });
      }
    });
  }

  private lowWater(): number {
    const r = this.rate();
    const ms = this.opts.lowWaterMs ?? LOW_WATER_MS;
    return Math.max(MIN_LOW_WATER_BYTES, r === null ? 0 : (r * ms) / 1000);
  }

  /** Call `next` once the kernel holds no more than the low-water mark for this connection. */
  private waitForKernel(next: () => void, since: number): void {
    void this.sample().then((queued) => {
      if (this.closed || this.socket.destroyed) return;
      const low = this.lowWater();
      if (queued === null || queued <= low) {
        this.lastWaitQueued = null;
        this.stuckDelay = 0;
        if (Date.now() - since <= QUICK_MS) {
          if (++this.fastStreak >= FAST_STREAK) {
            this.paced = false;
            this.lastCheckAt = Date.now();
            this.sinceCheck = 0;
          }
        } else {
          this.fastStreak = 0;
          this.waits++;
        }
        next();
        return;
      }
      // A stalled viewer (nothing acknowledged since the last poll) costs ever fewer reads.
      const stuck = this.lastWaitQueued !== null && queued >= this.lastWaitQueued;
      this.stuckDelay = stuck ? Math.min(POLL_STUCK_MAX_MS, Math.max(POLL_MAX_MS, this.stuckDelay * 2)) : 0;
      this.lastWaitQueued = queued;
      const r = this.rate();
      const eta = r ? ((queued - low) * 1000) / r : POLL_MIN_MS * 2;
      const timer = setTimeout(
        () => this.waitForKernel(next, since),
        this.stuckDelay || Math.min(POLL_MAX_MS, Math.max(POLL_MIN_MS, eta)),
      );
      timer.unref();
    });
  }

  /** Read the kernel's queue for this socket and update the drain rate; `urgent`: someone waits for it. */
  private async sample(urgent = true): Promise<number | null> {
    if (!this.kernel) return null;
    const queued = await this.kernel.queued(this.socket, urgent);
    this.lastQueued = queued;
    if (queued === null) return null;
    const at = Date.now();
    const acked = this.sentTotal - queued;
    const prev = this.lastSample;
    // Bytes acknowledged between two checks that both found data queued: the link was busy.
    if (prev && prev.queued > 0 && queued > 0 && at > prev.at && acked >= prev.acked)
      this.addBusy(acked - prev.acked, at - prev.at);
    this.lastSample = { at, acked, queued };
    return queued;
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
