/** What a source reports about itself; shown by the API and metrics. */

import type { SourceState, SourceStatusJson } from '../output/api-types';

export type { SourceState, SourceStatusJson } from '../output/api-types';

export class SourceStatus {
  state: SourceState = 'idle';
  reason: string | null = null;
  since = Date.now();
  nextRetryAt: number | null = null;
  connectionsOpened = 0;
  connectionsOpen = 0;
  lastConnectedAt: number | null = null;
  lastError: string | null = null;

  set(state: SourceState, reason: string | null = null): void {
    if (state !== this.state || reason !== this.reason) this.since = Date.now();
    this.state = state;
    this.reason = reason;
    if (state !== 'offline' && state !== 'auth_failed' && state !== 'liveview_off') this.nextRetryAt = null;
  }

  toJSON(): SourceStatusJson {
    const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
    return {
      state: this.state,
      reason: this.reason,
      since: new Date(this.since).toISOString(),
      next_retry_at: iso(this.nextRetryAt),
      connections_opened: this.connectionsOpened,
      connections_open: this.connectionsOpen,
      last_connected_at: iso(this.lastConnectedAt),
      last_error: this.lastError,
    };
  }
}
