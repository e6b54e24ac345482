/**
 * `light: auto`: the chamber light goes on while someone watches and back to how it was after the
 * last viewer left (after a short delay, so a page reload does not blink it). A printer that refuses
 * the command (newer firmware with developer mode off) is reported once and never asked again.
 */
import type { Logger } from '../log';
import type { MqttLink } from './mqtt-link';

export const LIGHT_OFF_DELAY_MS = 15_000;

export type LightState = 'idle' | 'on' | 'left_on_by_user' | 'refused' | 'waiting_for_mqtt';

export interface ChamberLightOptions {
  link: MqttLink;
  log: Logger;
  offDelayMs?: number;
}

export class ChamberLight {
  state: LightState = 'idle';
  reason: string | null = null;
  private viewers = 0;
  private lit = false;
  private busy = false;
  private again = false;
  private offTimer: NodeJS.Timeout | null = null;
  private readonly onConnected = () => void this.reconcile();

  constructor(private readonly opts: ChamberLightOptions) {
    opts.link.on('connected', this.onConnected);
  }

  /** Called with the hub's subscriber count whenever it changes. */
  setViewers(count: number): void {
    if (count > 0) {
      if (this.offTimer) clearTimeout(this.offTimer);
      this.offTimer = null;
      this.viewers = count;
      void this.reconcile();
    } else if (this.viewers > 0 && !this.offTimer) {
      this.offTimer = setTimeout(() => {
        this.offTimer = null;
        this.viewers = 0;
        void this.reconcile();
      }, this.opts.offDelayMs ?? LIGHT_OFF_DELAY_MS);
    }
  }

  /** Put the light back as it was, then stop listening. */
  async stop(): Promise<void> {
    if (this.offTimer) clearTimeout(this.offTimer);
    this.offTimer = null;
    this.opts.link.off('connected', this.onConnected);
    this.viewers = 0;
    await this.reconcile();
  }

  toJSON(): Record<string, unknown> {
    return { mode: 'auto', state: this.state, reason: this.reason };
  }

  private async reconcile(): Promise<void> {
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    try {
      do {
        this.again = false;
        await this.step();
      } while (this.again);
    } finally {
      this.busy = false;
    }
  }

  private async step(): Promise<void> {
    const { link, log } = this.opts;
    if (this.state === 'refused') return;
    const want = this.viewers > 0;
    if (!want && !this.lit && this.state === 'left_on_by_user') this.state = 'idle';
    if (want === this.lit && this.state !== 'waiting_for_mqtt') return;
    if (!link.connected) {
      if (want && !this.lit) this.state = 'waiting_for_mqtt';
      return;
    }
    if (want && !this.lit) {
      if (link.chamberLight === 'on') {
        // Someone else turned it on: leave it alone, and do not turn it off later either.
        this.state = 'left_on_by_user';
        this.reason = 'the light was already on';
        return;
      }
      const result = await link.setLight('on');
      if (!result.ok) {
        this.state = 'refused';
        this.reason = `the printer refused to switch the chamber light (${result.reason ?? 'no reason given'}); on newer firmware, turn on developer mode (LAN only) or set light: off`;
        log.warn(this.reason);
        return;
      }
      this.lit = true;
      this.state = 'on';
      this.reason = 'switched on for viewers';
      log.info('chamber light on while viewed');
    } else if (!want && this.lit) {
      const result = await link.setLight('off');
      this.lit = false;
      this.state = 'idle';
      this.reason = result.ok ? 'restored after the last viewer left' : `restoring failed: ${result.reason}`;
      log.info(`chamber light: ${this.reason}`);
    } else if (!want && this.state === 'waiting_for_mqtt') {
      this.state = 'idle';
    }
  }
}
