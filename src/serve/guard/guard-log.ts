/**
 * Aggregated log lines for an output's guard: the first event after a quiet spell is logged at once,
 * later ones are summed and written as one line per interval, and whatever is left is written on
 * stop. Every event lands in exactly one line, so the lines add up to the counters.
 */
import type { Logger } from '../../log';

export type GuardEvent =
  | 'failed'
  | 'abandoned'
  | 'refused_blocked'
  | 'refused_address'
  | 'refused_total'
  | 'evicted';

const WORDS: Record<GuardEvent, [string, string]> = {
  failed: ['failed authentication', 'failed authentications'],
  abandoned: ['connection closed without authenticating', 'connections closed without authenticating'],
  refused_blocked: [
    'connection refused from a blocked address',
    'connections refused from blocked addresses',
  ],
  refused_address: ['connection over the per-address limit', 'connections over the per-address limit'],
  refused_total: ['connection over the total limit', 'connections over the total limit'],
  evicted: [
    'unauthenticated connection closed to make room',
    'unauthenticated connections closed to make room',
  ],
};
const ORDER = Object.keys(WORDS) as GuardEvent[];
/** Addresses named in one line; the rest are counted. */
const NAMED_ADDRESSES = 3;

export class GuardLog {
  private counts = new Map<GuardEvent, number>();
  private addresses = new Map<string, number>();
  private blocked: string[] = [];
  private since = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly log: Logger,
    private readonly everyMs: number,
  ) {}

  /** One event from `address`. */
  add(event: GuardEvent, address: string): void {
    if (this.empty()) this.since = Date.now();
    this.counts.set(event, (this.counts.get(event) ?? 0) + 1);
    this.addresses.set(address, (this.addresses.get(address) ?? 0) + 1);
    this.arm();
  }

  /** An address starts being refused for `forMs` after `failures` failures. */
  addBlocked(address: string, failures: number, forMs: number): void {
    if (this.empty()) this.since = Date.now();
    this.blocked.push(`${address} is refused for ${Math.round(forMs / 1000)} s after ${failures} failures`);
    this.arm();
  }

  /** Write what is left and stop the timer (the owner is stopping). */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.flush();
  }

  private empty(): boolean {
    return this.counts.size === 0 && this.blocked.length === 0;
  }

  /** Log at once when no line was written within the interval, else when the interval ends. */
  private arm(): void {
    if (this.timer) return;
    this.flush();
    this.timer = setTimeout(() => this.tick(), this.everyMs);
    this.timer.unref();
  }

  private tick(): void {
    this.timer = null;
    if (this.empty()) return;
    this.flush();
    this.timer = setTimeout(() => this.tick(), this.everyMs);
    this.timer.unref();
  }

  private flush(): void {
    if (this.empty()) return;
    const parts = ORDER.filter((e) => this.counts.has(e)).map((e) => {
      const n = this.counts.get(e) ?? 0;
      return `${n} ${WORDS[e][n === 1 ? 0 : 1]}`;
    });
    let text = parts.join(', ');
    if (this.addresses.size) {
      const top = [...this.addresses].sort((a, b) => b[1] - a[1]);
      const named = top.slice(0, NAMED_ADDRESSES).map(([a, n]) => (top.length === 1 ? a : `${a} (${n})`));
      const more = top.length - named.length;
      text += ` from ${named.join(', ')}${more > 0 ? ` and ${more} more address${more === 1 ? '' : 'es'}` : ''}`;
    }
    const seconds = Math.max(0, Math.round((Date.now() - this.since) / 1000));
    if (parts.length && seconds > 0) text += ` in ${seconds} s`;
    const line = [parts.length ? text : '', ...this.blocked].filter(Boolean).join('; ');
    this.counts = new Map();
    this.addresses = new Map();
    this.blocked = [];
    this.log.warn(line);
  }
}
