/**
 * A bounded queue for costly work (resizing pictures): at most `concurrency` jobs run, at most
 * `maxWaiting` wait, and anything beyond is refused at once with QueueFull, so a burst of requests
 * costs a 503 rather than memory and CPU (issue 13, finding 5).
 */

export class QueueFull extends Error {
  override name = 'QueueFull';
}

export class WorkQueue {
  running = 0;
  refused = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    readonly concurrency: number,
    readonly maxWaiting: number,
  ) {}

  get queued(): number {
    return this.waiting.length;
  }

  /** Run `job` when a slot is free; rejects with QueueFull when too many wait already. */
  run<T>(job: () => Promise<T>): Promise<T> {
    if (this.running >= this.concurrency && this.waiting.length >= this.maxWaiting) {
      this.refused++;
      return Promise.reject(new QueueFull(`${this.running} running and ${this.waiting.length} waiting`));
    }
    return new Promise<T>((resolve, reject) => {
      const start = () => {
        this.running++;
        job()
          .then(resolve, reject)
          .finally(() => {
            this.running--;
            this.waiting.shift()?.();
          });
      };
      if (this.running < this.concurrency) start();
      else this.waiting.push(start);
    });
  }
}
