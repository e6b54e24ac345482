/** Frames per second over a sliding window of arrival times. */
export class RateMeter {
  private times: number[] = [];

  constructor(private readonly windowMs = 10_000) {}

  mark(now = Date.now()): void {
    this.times.push(now);
    this.prune(now);
  }

  perSecond(now = Date.now()): number {
    this.prune(now);
    if (this.times.length < 2) return 0;
    const span = Math.max(now - this.times[0], this.times[this.times.length - 1] - this.times[0]);
    return span > 0 ? ((this.times.length - 1) * 1000) / span : 0;
  }

  private prune(now: number): void {
    const cutoff = now - this.windowMs;
    let i = 0;
    while (i < this.times.length && this.times[i] < cutoff) i++;
    if (i) this.times.splice(0, i);
  }
}
