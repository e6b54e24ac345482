/**
 * The per-printer JPEG fan-out point. It outlives source reconnects: subscribers stay attached while
 * the source comes and goes, and a new subscriber gets the latest frame at once.
 *
 * Delivery is bounded per subscriber: one frame in flight and at most one pending; a newer frame
 * replaces the pending one (counted as dropped). A subscriber that stays busy past the stall limit
 * is closed. So a slow viewer never slows the others, and holds at most two frames.
 */
import { EventEmitter } from 'node:events';
import type { Frame } from './frame';
import { RateMeter } from './rate';

export interface SubscriberSink {
  /** Deliver a frame; call `done` once the sink can take another. */
  send(frame: Frame, done: () => void): void;
  /** The hub gave up on this subscriber (stalled, or the hub closed). */
  close(reason: string): void;
  /** Bytes written but not yet handed to the kernel (for status and memory checks). */
  backlogBytes?(): number;
}

export interface SubscribeOptions {
  /** The output this subscriber belongs to ('mjpeg', 'native', 'encoder', ...), for the counters. */
  output: string;
  /** Deliver at most one frame per this many ms (a viewer's fps cap). */
  minIntervalMs?: number;
  /** Re-send the latest frame when nothing was sent for this long (keeps slow cameras' viewers alive). */
  repeatAfterMs?: number;
  /** Send the latest frame at once on subscribe (default true). */
  sendLatest?: boolean;
}

export interface OutputCounters {
  viewers: number;
  delivered: number;
  dropped: number;
  repeated: number;
  stalled: number;
}

export const STALL_TIMEOUT_MS = 20_000;

export class Subscription {
  delivered = 0;
  dropped = 0;
  repeated = 0;
  readonly since = Date.now();
  private busySince: number | null = null;
  private pending: Frame | null = null;
  private lastSentAt = 0;
  private throttleTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly hub: JpegHub,
    private readonly sink: SubscriberSink,
    readonly opts: SubscribeOptions,
    private readonly counters: OutputCounters,
  ) {}

  get isClosed(): boolean {
    return this.closed;
  }

  /** Bytes the sink holds in this process, not yet given to the kernel. */
  backlogBytes(): number {
    return this.sink.backlogBytes?.() ?? 0;
  }

  /** How long the current delivery has been waiting for the sink, or 0. */
  busyFor(now: number): number {
    return this.busySince === null ? 0 : now - this.busySince;
  }

  offer(frame: Frame): void {
    if (this.closed) return;
    if (this.busySince !== null || this.throttled()) {
      if (this.pending) this.drop();
      this.pending = frame;
      this.scheduleThrottle();
      return;
    }
    this.deliver(frame, false);
  }

  /** Detach from the hub; the sink is not told (the caller is the one closing). */
  unsubscribe(): void {
    if (this.closed) return;
    this.closed = true;
    this.clearTimers();
    if (this.pending) this.drop();
    this.pending = null;
    this.hub.detach(this);
  }

  /** Detach and tell the sink why. */
  close(reason: string): void {
    if (this.closed) return;
    this.unsubscribe();
    this.sink.close(reason);
  }

  private drop(): void {
    this.dropped++;
    this.counters.dropped++;
  }

  private throttled(): boolean {
    const min = this.opts.minIntervalMs ?? 0;
    return min > 0 && Date.now() - this.lastSentAt < min;
  }

  private scheduleThrottle(): void {
    if (this.throttleTimer || this.busySince !== null) return;
    const wait = (this.opts.minIntervalMs ?? 0) - (Date.now() - this.lastSentAt);
    if (wait <= 0) return;
    this.throttleTimer = setTimeout(() => {
      this.throttleTimer = null;
      this.flushPending();
    }, wait);
  }

  private flushPending(): void {
    const next = this.pending;
    if (!next || this.closed) return;
    this.pending = null;
    this.offer(next);
  }

  private deliver(frame: Frame, repeat: boolean): void {
    this.busySince = Date.now();
    this.lastSentAt = this.busySince;
    if (repeat) {
      this.repeated++;
      this.counters.repeated++;
    } else {
      this.delivered++;
      this.counters.delivered++;
    }
    let finished = false;
    this.sink.send(frame, () => {
      if (finished || this.closed) return;
      finished = true;
      this.busySince = null;
      this.flushPending();
    });
  }

  /** Called by the hub's periodic tick: re-send the latest frame to an idle, silent subscriber. */
  repeatIfSilent(now: number): void {
    const every = this.opts.repeatAfterMs;
    const latest = this.hub.latest;
    if (!every || this.closed || this.busySince !== null || !latest || now - this.lastSentAt < every) return;
    this.deliver(latest, true);
  }

  private clearTimers(): void {
    if (this.throttleTimer) clearTimeout(this.throttleTimer);
    this.throttleTimer = null;
  }
}

export interface JpegHubOptions {
  /** A subscriber whose delivery has not finished for this long is closed. */
  stallTimeoutMs?: number;
}

export class JpegHub extends EventEmitter {
  latest: Frame | null = null;
  framesIn = 0;
  private seq = 0;
  private readonly subs = new Set<Subscription>();
  private readonly outputs = new Map<string, OutputCounters>();
  private readonly rate = new RateMeter();
  private tickTimer: NodeJS.Timeout | null = null;
  private tickMs = Number.POSITIVE_INFINITY;
  private readonly stallTimeoutMs: number;

  constructor(opts: JpegHubOptions = {}) {
    super();
    this.setMaxListeners(0);
    this.stallTimeoutMs = opts.stallTimeoutMs ?? STALL_TIMEOUT_MS;
  }

  publish(jpeg: Buffer, receivedAt = Date.now()): Frame {
    const frame: Frame = { jpeg, seq: ++this.seq, receivedAt };
    this.latest = frame;
    this.framesIn++;
    this.rate.mark(receivedAt);
    for (const sub of this.subs) sub.offer(frame);
    this.emit('frame', frame);
    return frame;
  }

  subscribe(sink: SubscriberSink, opts: SubscribeOptions): Subscription {
    const counters = this.counters(opts.output);
    const sub = new Subscription(this, sink, opts, counters);
    this.subs.add(sub);
    counters.viewers++;
    this.emit('demand', this.subs.size);
    this.armTick(opts.repeatAfterMs);
    if (opts.sendLatest !== false && this.latest) sub.offer(this.latest);
    return sub;
  }

  /** Called by Subscription.unsubscribe(). */
  detach(sub: Subscription): void {
    if (!this.subs.delete(sub)) return;
    this.counters(sub.opts.output).viewers--;
    this.emit('demand', this.subs.size);
  }

  /** The next frame newer than `afterSeq`, or null after `timeoutMs`. */
  nextFrame(timeoutMs: number, afterSeq = this.latest?.seq ?? 0): Promise<Frame | null> {
    if (this.latest && this.latest.seq > afterSeq) return Promise.resolve(this.latest);
    return new Promise((resolve) => {
      const onFrame = (frame: Frame) => {
        clearTimeout(timer);
        resolve(frame);
      };
      const timer = setTimeout(() => {
        this.off('frame', onFrame);
        resolve(null);
      }, timeoutMs);
      this.once('frame', onFrame);
    });
  }

  get subscriberCount(): number {
    return this.subs.size;
  }

  subscribers(output?: string): Subscription[] {
    return [...this.subs].filter((s) => !output || s.opts.output === output);
  }

  fps(): number {
    return this.rate.perSecond();
  }

  outputCounters(): Record<string, OutputCounters> {
    return Object.fromEntries([...this.outputs].map(([k, v]) => [k, { ...v }]));
  }

  counters(output: string): OutputCounters {
    let c = this.outputs.get(output);
    if (!c) {
      c = { viewers: 0, delivered: 0, dropped: 0, repeated: 0, stalled: 0 };
      this.outputs.set(output, c);
    }
    return c;
  }

  /** Close every subscriber (shutdown). */
  close(reason = 'shutting down'): void {
    for (const sub of [...this.subs]) sub.close(reason);
    this.stopTick();
  }

  /**
   * One timer per hub, not per subscriber or frame: it closes stalled subscribers and re-sends the
   * latest frame to silent ones. It runs only while there are subscribers.
   */
  private armTick(repeatAfterMs?: number): void {
    const wanted = Math.max(
      50,
      Math.min(1000, this.stallTimeoutMs / 4, repeatAfterMs ? repeatAfterMs / 4 : 1000),
    );
    if (this.tickTimer && wanted >= this.tickMs) return;
    this.stopTick();
    this.tickMs = wanted;
    this.tickTimer = setInterval(() => this.tick(), wanted);
    this.tickTimer.unref();
  }

  private tick(): void {
    const now = Date.now();
    for (const sub of this.subs) {
      if (sub.busyFor(now) > this.stallTimeoutMs) {
        this.counters(sub.opts.output).stalled++;
        sub.close(`stalled: could not take a frame for ${Math.round(this.stallTimeoutMs / 1000)} s`);
      } else {
        sub.repeatIfSilent(now);
      }
    }
    if (this.subs.size === 0) this.stopTick();
  }

  private stopTick(): void {
    if (this.tickTimer) clearInterval(this.tickTimer);
    this.tickTimer = null;
    this.tickMs = Number.POSITIVE_INFINITY;
  }
}
