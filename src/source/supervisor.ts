/**
 * Keeps a "run once" source running: calls `run(signal)` again after it ends, with stepped
 * backoff. A run must only settle once its connection has fully closed, so the supervisor can never
 * hold two connections to one printer (PROTOCOLS.md §3: a half-closed socket starves the next one).
 */
import type { Logger } from '../log';
import type { SourceStatus } from './status';

/** A failure that should make us wait long before trying again (for example a wrong access code). */
export class LongBackoffError extends Error {
  constructor(
    message: string,
    readonly state: 'auth_failed' | 'liveview_off' | 'offline' = 'offline',
  ) {
    super(message);
    this.name = 'LongBackoffError';
  }
}

export class AuthError extends LongBackoffError {
  constructor(message = 'wrong access code') {
    super(message, 'auth_failed');
    this.name = 'AuthError';
  }
}

export interface SupervisorOptions {
  log: Logger;
  status: SourceStatus;
  /**
   * Connect, stream, and settle when the connection has fully closed. A run that set
   * `status.lastConnectedAt` (it delivered data) restarts the backoff from its first step.
   */
  run: (signal: AbortSignal) => Promise<void>;
  /** Waits after ordinary failures, in order; the last one repeats. */
  backoffMs?: number[];
  /** Waits after a LongBackoffError (wrong access code, liveview off). */
  longBackoffMs?: number[];
}

export const DEFAULT_BACKOFF_MS = [1000, 5000, 10000, 60000];
export const DEFAULT_LONG_BACKOFF_MS = [30000, 60000, 120000, 300000];

export class Supervisor {
  private controller: AbortController | null = null;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;

  constructor(private readonly opts: SupervisorOptions) {}

  get running(): boolean {
    return this.loop !== null;
  }

  start(): void {
    if (this.loop) return;
    const controller = new AbortController();
    this.controller = controller;
    this.loop = this.keepRunning(controller.signal);
  }

  /** Stop and wait until the current connection has closed. */
  async stop(): Promise<void> {
    if (!this.loop) return;
    this.controller?.abort();
    this.wake?.();
    await this.loop;
    this.loop = null;
    this.controller = null;
    this.opts.status.set('stopped');
  }

  private async keepRunning(signal: AbortSignal): Promise<void> {
    const { log, status } = this.opts;
    const steps = this.opts.backoffMs ?? DEFAULT_BACKOFF_MS;
    const longSteps = this.opts.longBackoffMs ?? DEFAULT_LONG_BACKOFF_MS;
    let failures = 0;
    let longFailures = 0;
    while (!signal.aborted) {
      let waitMs: number;
      const startedAt = Date.now();
      const healthy = () => status.lastConnectedAt !== null && status.lastConnectedAt >= startedAt;
      try {
        await this.opts.run(signal);
        if (signal.aborted) break;
        if (healthy()) failures = longFailures = 0;
        waitMs = steps[Math.min(failures++, steps.length - 1)];
        status.set('offline', 'connection closed by the printer');
      } catch (err) {
        if (signal.aborted) break;
        const message = err instanceof Error ? err.message : String(err);
        status.lastError = message;
        if (healthy()) failures = longFailures = 0;
        if (err instanceof LongBackoffError) {
          failures = 0;
          waitMs = longSteps[Math.min(longFailures++, longSteps.length - 1)];
          status.set(err.state, message);
        } else {
          longFailures = 0;
          waitMs = steps[Math.min(failures++, steps.length - 1)];
          status.set('offline', message);
        }
      }
      status.nextRetryAt = Date.now() + waitMs;
      log.warn(`${status.reason}; retrying in ${Math.round(waitMs / 100) / 10} s`);
      await this.sleep(waitMs, signal);
    }
  }

  private sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done);
      this.wake = done;
    });
  }
}
