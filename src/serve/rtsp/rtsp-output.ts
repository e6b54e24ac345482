/**
 * The RTSP output: `rtsp://<host>:8554/<printer-id>`, H.264 for Home Assistant's stream component,
 * Frigate and go2rtc, from one server for every printer. A failure to bind disables only this
 * output, with the reason (naming the key to change) in the log and the API.
 */

import { isLoopback, shownHost } from '../../net/hosts';
import { startOrDisable } from '../../net/listen';
import type { Output, OutputContext, OutputFactory, OutputState } from '../../output/output';
import type { GuardStatusJson } from '../guard/address-guard';
import { SocketGuard } from '../guard/socket-guard';
import { RtspServer } from './server';

export class RtspOutput implements Output {
  readonly name = 'rtsp';
  readonly server: RtspServer;
  private readonly guardian: SocketGuard;
  private failure: string | null = null;
  private listening = false;

  constructor(private readonly ctx: OutputContext) {
    const { config, tuning, printers } = ctx;
    const users = config.rtsp.users;
    this.guardian = new SocketGuard({ log: ctx.log.child('rtsp'), limits: config.limits });
    this.server = new RtspServer({
      // Without rtsp.users there is nothing to guess and every connection may play at once.
      guard: users.length ? this.guardian : undefined,
      log: ctx.log.child('rtsp'),
      host: config.rtsp.host,
      port: config.rtsp.port,
      output: 'rtsp',
      allowBasic: true,
      viewer: tuning.rtspViewer,
      describeWaitMs: tuning.describeWaitMs,
      resolve: (path) => {
        const printer = printers.get(path.replace(/^\//, ''));
        return printer ? { stream: printer.h264, credentials: users.length ? users : null } : undefined;
      },
    });
  }

  async start(): Promise<void> {
    const { config, log } = this.ctx;
    this.failure = await startOrDisable(this.server, log.child('rtsp'), config.rtsp.host, config.rtsp.port, {
      port: 'rtsp.port',
      host: 'rtsp.host',
    });
    this.listening = this.failure === null;
    if (this.listening)
      log.child('rtsp').info(`listening on rtsp://${config.rtsp.host}:${this.server.port}/<printer-id>`);
  }

  async stop(): Promise<void> {
    if (!this.listening) return;
    this.listening = false;
    await this.server.stop();
  }

  get running(): boolean {
    return this.listening;
  }

  status(printerId: string): OutputState | undefined {
    if (!this.ctx.printers.has(printerId)) return undefined;
    if (!this.listening) return { state: 'failed', reason: this.failure ?? 'not started' };
    return {
      state: 'listening',
      listen: `rtsp://${this.ctx.config.rtsp.host}:${this.server.port}/${printerId}`,
    };
  }

  guard(): GuardStatusJson | null {
    return this.listening && this.ctx.config.rtsp.users.length ? this.guardian.guard.status() : null;
  }

  openToNetwork(): string[] {
    const { host, users } = this.ctx.config.rtsp;
    return this.listening && users.length === 0 && !isLoopback(host)
      ? [`rtsp on ${host}:${this.server.port}`]
      : [];
  }

  describe(): string[] {
    if (!this.listening) return [];
    const host = shownHost(this.ctx.config.rtsp.host);
    return [...this.ctx.printers.values()].map(
      (p) => `${p.name}: rtsp://${host}:${this.server.port}/${p.id}  (H.264)`,
    );
  }
}

export const rtspOutput: OutputFactory = (ctx) => new RtspOutput(ctx);
