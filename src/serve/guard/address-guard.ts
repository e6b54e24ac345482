/**
 * Per-address limits for one output's listener (issue 13): what keeps a stranger on the network from
 * locking viewers out or guessing codes. Pure logic and timers, no sockets: an output asks `admit()`
 * when a connection arrives and reports how its authentication ended on the returned attempt.
 *
 * - Connections that have not authenticated yet are capped per remote address and in total. Viewers
 *   that authenticated are not counted here at all, so no flood can evict or block them. When the
 *   total is reached, a newcomer from a quieter address closes the oldest pending connection of the
 *   address holding the most, so a flood from a few addresses cannot keep everyone else out.
 * - Failures are remembered per address: after `failuresBeforeDelay` within `failureWindowMs`, each
 *   further verdict for that address is delayed (`delaysMs`, one step more per failure) and only one
 *   attempt at a time is allowed; after the last step the address is refused for `refuseMs`.
 *   An address that authenticated within `refuseMs` (a Frigate host with one camera's password
 *   wrong, a household behind one NAT) is only ever delayed by the first step, never refused and
 *   never held to one attempt at a time, so its other clients keep working.
 * - Everything is counted (`status()`) and logged in aggregate without losing a count (GuardLog).
 *
 * The output decides what a failure is (a wrong code, a wrong Digest answer) and applies the delay
 * before it judges credentials, right or wrong, so the delay reveals nothing about the code.
 */
import type { LimitsKeys } from '../../config/load';
import type { Logger } from '../../log';
import { addressKey } from './address-key';
import { type GuardEvent, GuardLog } from './guard-log';

export interface GuardLimits {
  /** Connections not yet authenticated, per remote address (an IPv6 /64 counts as one). */
  pendingPerAddress: number;
  /** Connections not yet authenticated, all addresses together. */
  pendingTotal: number;
  /** Failures from one address within the window before its verdicts are delayed. */
  failuresBeforeDelay: number;
  failureWindowMs: number;
  /** Delay of each further verdict: one step more per failure. */
  delaysMs: number[];
  /** After a failure at the last delay step the address is refused for this long. */
  refuseMs: number;
}

export const DEFAULT_GUARD_LIMITS: GuardLimits = {
  pendingPerAddress: 32,
  pendingTotal: 256,
  failuresBeforeDelay: 5,
  failureWindowMs: 60_000,
  delaysMs: [1000, 5000, 30_000],
  refuseMs: 600_000,
};

export interface AddressGuardOptions {
  log: Logger;
  limits?: Partial<GuardLimits>;
  /** Interval of the aggregated log line. */
  logEveryMs?: number;
  /** Addresses remembered at most (oldest idle ones are forgotten first). */
  maxAddresses?: number;
}

export const GUARD_LOG_EVERY_MS = 10_000;
const MAX_ADDRESSES = 4096;
/** How often idle address records are swept. */
const SWEEP_MS = 60_000;

export type RefusalReason = 'blocked' | 'address_limit' | 'total_limit';

export type Admission = { ok: true; attempt: Attempt } | { ok: false; reason: RefusalReason };

export interface GuardCounters {
  /** Connections admitted to authenticate. */
  admitted: number;
  authenticated: number;
  /** Wrong credentials. */
  failures: number;
  /** Closed without offering credentials (silent, timed out, garbage, or gone). */
  abandoned: number;
  /** Connections closed at once: from a blocked address or over a limit. */
  refused: number;
  refused_blocked: number;
  refused_address_limit: number;
  refused_total_limit: number;
  /** Unauthenticated connections closed to make room for a newcomer from a quieter address. */
  evicted: number;
  /** Verdicts delayed because the address failed before. */
  delayed: number;
}

export interface GuardStatusJson extends GuardCounters {
  pending: number;
  /** Addresses whose verdicts are delayed now. */
  addresses_delayed: number;
  /** Addresses refused now. */
  addresses_blocked: number;
  limits: LimitsKeys;
}

interface AddressRecord {
  key: string;
  pending: Set<Attempt>;
  /** Failure times within the window (stage 0 only). */
  failures: number[];
  /** 0: free; 1..delays: delayed by delays[stage-1]; delays+1: refused until `refusedUntil`. */
  stage: number;
  refusedUntil: number;
  /** When a delayed address is forgiven (stage back to 0) if it fails no more. */
  forgiveAt: number;
  /** Last successful authentication from this address (0: none). */
  lastSuccessAt: number;
  failuresTotal: number;
}

/** Wrong answers one connection may give before it is closed (protocols with retries, like Digest). */
export const MAX_FAILURES_PER_CONNECTION = 3;

/** One connection between admission and its verdict. Every method is safe to call more than once. */
export class Attempt {
  private open = true;
  private failures = 0;
  readonly admittedAt = Date.now();

  constructor(
    private readonly guard: AddressGuard,
    private readonly record: AddressRecord,
    private readonly onEvict: () => void,
  ) {}

  /** The remote address as counted (IPv4, or an IPv6 /64). */
  get address(): string {
    return this.record.key;
  }

  get isOpen(): boolean {
    return this.open;
  }

  /** How long to wait before judging this attempt's credentials (0: at once). */
  verdictDelayMs(): number {
    return this.guard.delayFor(this.record);
  }

  /** Right credentials: the connection is a viewer now and leaves the guard's counts. */
  authenticated(): void {
    if (this.leave()) this.guard.onAuthenticated(this.record);
  }

  /**
   * Wrong credentials. Returns whether the connection may try again (protocols with several tries
   * on one connection, like Digest): not once its address is penalised, nor after a few failures.
   * The attempt stays pending until `closed()`. Counted even on a connection that authenticated
   * before (HTTP keep-alive), which may then not try again.
   */
  failed(): { mayRetry: boolean } {
    this.failures++;
    this.guard.onFailed(this.record);
    return { mayRetry: this.open && this.failures < MAX_FAILURES_PER_CONNECTION && this.record.stage === 0 };
  }

  /** The connection closed (or is being closed) without authenticating; counted as abandoned unless it failed. */
  closed(): void {
    if (this.leave() && this.failures === 0) this.guard.onAbandoned(this.record);
  }

  /** Called by the guard to make room: close the connection. */
  evict(): void {
    if (!this.leave()) return;
    this.onEvict();
  }

  private leave(): boolean {
    if (!this.open) return false;
    this.open = false;
    this.guard.detach(this.record, this);
    return true;
  }
}

export class AddressGuard {
  readonly limits: GuardLimits;
  private readonly counters: GuardCounters = {
    admitted: 0,
    authenticated: 0,
    failures: 0,
    abandoned: 0,
    refused: 0,
    refused_blocked: 0,
    refused_address_limit: 0,
    refused_total_limit: 0,
    evicted: 0,
    delayed: 0,
  };
  private readonly records = new Map<string, AddressRecord>();
  private pendingTotal = 0;
  private readonly logger: GuardLog;
  private sweepTimer: NodeJS.Timeout | null = null;
  private readonly maxAddresses: number;

  constructor(opts: AddressGuardOptions) {
    this.limits = { ...DEFAULT_GUARD_LIMITS, ...opts.limits };
    this.logger = new GuardLog(opts.log, opts.logEveryMs ?? GUARD_LOG_EVERY_MS);
    this.maxAddresses = opts.maxAddresses ?? MAX_ADDRESSES;
  }

  /**
   * A connection from `remoteAddress` arrived. Refused: close it at once (the refusal is counted and
   * logged here). Admitted: report its end on the attempt; `onEvict` closes it if the guard needs
   * the room for someone else.
   */
  admit(remoteAddress: string | undefined, onEvict: () => void): Admission {
    const now = Date.now();
    const key = addressKey(remoteAddress);
    const existing = this.records.get(key);
    const record = existing ? this.refresh(existing, now) : null;
    const refused = (reason: RefusalReason, event: GuardEvent): Admission => {
      this.counters.refused++;
      this.counters[`refused_${reason}`]++;
      this.logger.add(event, key);
      return { ok: false, reason };
    };
    if (record && this.isBlocked(record, now)) return refused('blocked', 'refused_blocked');
    const perAddress =
      record && record.stage > 0 && !this.isTrusted(record, now) ? 1 : this.limits.pendingPerAddress;
    if (record && record.pending.size >= perAddress) return refused('address_limit', 'refused_address');
    if (this.pendingTotal >= this.limits.pendingTotal) {
      const victim = this.largestHolder(record?.pending.size ?? 0);
      if (!victim) return refused('total_limit', 'refused_total');
      const oldest = victim.pending.values().next().value as Attempt;
      this.counters.evicted++;
      this.logger.add('evicted', victim.key);
      oldest.evict();
    }
    const rec = record ?? this.track(key);
    const attempt = new Attempt(this, rec, onEvict);
    rec.pending.add(attempt);
    this.pendingTotal++;
    this.counters.admitted++;
    this.armSweep();
    return { ok: true, attempt };
  }

  status(): GuardStatusJson {
    const now = Date.now();
    let delayed = 0;
    let blocked = 0;
    for (const r of this.records.values()) {
      if (this.isBlocked(r, now)) blocked++;
      else if (r.stage > 0) delayed++;
    }
    const l = this.limits;
    return {
      ...this.counters,
      pending: this.pendingTotal,
      addresses_delayed: delayed,
      addresses_blocked: blocked,
      limits: {
        pending_per_address: l.pendingPerAddress,
        pending_total: l.pendingTotal,
        failures_before_delay: l.failuresBeforeDelay,
        failure_window_s: l.failureWindowMs / 1000,
        delays_s: l.delaysMs.map((d) => d / 1000),
        refuse_s: l.refuseMs / 1000,
      },
    };
  }

  /** Addresses remembered now (pending connections or recent failures). */
  get trackedAddresses(): number {
    return this.records.size;
  }

  /** Write the last aggregated line and stop the timers. */
  stop(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    this.logger.stop();
  }

  /** @internal the delay of the next verdict for this record (counted). */
  delayFor(record: AddressRecord): number {
    const { stage } = record;
    // A connection admitted just before its address was refused waits as long as the last step.
    const ms = stage < 1 ? 0 : (this.limits.delaysMs[Math.min(stage, this.limits.delaysMs.length) - 1] ?? 0);
    if (ms > 0) this.counters.delayed++;
    return ms;
  }

  /** @internal */
  onAuthenticated(record: AddressRecord): void {
    this.counters.authenticated++;
    record.lastSuccessAt = Date.now();
  }

  /** @internal */
  onAbandoned(record: AddressRecord): void {
    this.counters.abandoned++;
    this.logger.add('abandoned', record.key);
  }

  /** @internal a wrong code from this record's address: one step further. */
  onFailed(record: AddressRecord): void {
    const now = Date.now();
    this.counters.failures++;
    this.logger.add('failed', record.key);
    record.failuresTotal++;
    const steps = this.limits.delaysMs.length;
    if (record.stage === 0) {
      record.failures.push(now);
      record.failures = record.failures.filter((t) => now - t < this.limits.failureWindowMs);
      if (record.failures.length >= this.limits.failuresBeforeDelay) {
        record.stage = 1;
        record.failures = [];
      }
    } else {
      record.stage = Math.min(record.stage + 1, steps + 1);
    }
    // A known-good address stays at the first delay step (see the class comment).
    if (this.isTrusted(record, now)) record.stage = Math.min(record.stage, 1);
    if (record.stage === steps + 1 && record.refusedUntil <= now) {
      record.refusedUntil = now + this.limits.refuseMs;
      this.logger.addBlocked(record.key, record.failuresTotal, this.limits.refuseMs);
    }
    record.forgiveAt = Math.max(now, record.refusedUntil) + this.limits.refuseMs;
    this.touch(record);
  }

  /** @internal */
  detach(record: AddressRecord, attempt: Attempt): void {
    if (record.pending.delete(attempt)) this.pendingTotal--;
  }

  /** Authenticated within `refuseMs`. */
  private isTrusted(record: AddressRecord, now: number): boolean {
    return record.lastSuccessAt > 0 && now - record.lastSuccessAt < this.limits.refuseMs;
  }

  private isBlocked(record: AddressRecord, now: number): boolean {
    return record.stage > this.limits.delaysMs.length && now < record.refusedUntil;
  }

  /**
   * A refusal that ran out drops to the last delay step; an address without failures for `refuseMs`
   * (after its refusal, if any) is forgiven.
   */
  private refresh(record: AddressRecord, now: number): AddressRecord {
    const steps = this.limits.delaysMs.length;
    if (record.stage > steps && now >= record.refusedUntil) record.stage = steps;
    if (record.stage > 0 && record.stage <= steps && now >= record.forgiveAt) {
      record.stage = 0;
      record.failures = [];
    }
    return record;
  }

  private largestHolder(than: number): AddressRecord | null {
    let best: AddressRecord | null = null;
    for (const r of this.records.values()) {
      if (r.pending.size > than && (!best || r.pending.size > best.pending.size)) best = r;
    }
    return best;
  }

  private track(key: string): AddressRecord {
    const record: AddressRecord = {
      key,
      pending: new Set(),
      failures: [],
      stage: 0,
      refusedUntil: 0,
      forgiveAt: 0,
      lastSuccessAt: 0,
      failuresTotal: 0,
    };
    this.records.set(key, record);
    if (this.records.size > this.maxAddresses) this.forgetOldest();
    return record;
  }

  /** Most recently failed last, so the oldest idle records are forgotten first. */
  private touch(record: AddressRecord): void {
    this.records.delete(record.key);
    this.records.set(record.key, record);
  }

  private forgetOldest(): void {
    for (const [key, r] of this.records) {
      if (this.records.size <= this.maxAddresses) return;
      if (r.pending.size === 0) this.records.delete(key);
    }
  }

  private armSweep(): void {
    if (this.sweepTimer) return;
    this.sweepTimer = setInterval(() => this.sweep(), SWEEP_MS);
    this.sweepTimer.unref();
  }

  /** Forget addresses with nothing pending and nothing to remember. */
  private sweep(): void {
    const now = Date.now();
    for (const [key, r] of this.records) {
      this.refresh(r, now);
      r.failures = r.failures.filter((t) => now - t < this.limits.failureWindowMs);
      const quiet = r.pending.size === 0 && r.stage === 0 && r.failures.length === 0;
      if (quiet && !this.isTrusted(r, now)) this.records.delete(key);
    }
    if (this.records.size === 0 && this.sweepTimer) {
      clearInterval(this.sweepTimer);
      this.sweepTimer = null;
    }
  }
}

/** The guard part of an output's status JSON, when it has one (for metrics that read statuses). */
export function guardStatusOf(status: unknown): GuardStatusJson | null {
  const guard = (status as { guard?: unknown } | null)?.guard as GuardStatusJson | undefined;
  return guard && typeof guard.failures === 'number' && typeof guard.refused === 'number' ? guard : null;
}
