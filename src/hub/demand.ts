/**
 * Resources follow demand: runs something (a transcoder) while wanted, and stops it `idleMs` after
 * the last want ended. One timer, cancelled by the next want.
 */
export class Demand {
  private timer: NodeJS.Timeout | null = null;
  constructor(
    private readonly idleMs: number,
    private readonly startIt: () => void,
    private readonly stopIt: () => void,
  ) {}

  /** The number of wants changed: start at once when wanted, arm the idle stop when not. */
  wanted(count: number): void {
    if (count > 0) {
      this.cancel();
      this.startIt();
    } else this.idle();
  }

  /** Want it once (a snapshot): start, and stop after the idle delay unless someone else wants it. */
  touch(stillWanted: boolean): void {
    this.startIt();
    if (!stillWanted) this.idle();
  }

  /** True while the idle stop is armed. */
  get stopping(): boolean {
    return this.timer !== null;
  }

  private idle(): void {
    this.cancel();
    this.timer = setTimeout(() => {
      this.timer = null;
      this.stopIt();
    }, this.idleMs);
    this.timer.unref();
  }

  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
