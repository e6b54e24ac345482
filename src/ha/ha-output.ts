/**
 * The Home Assistant output: MQTT discovery of each printer's entities on the user's broker
 * (src/ha/discovery.ts), on only when `homeassistant.url` is set.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import type { Output, OutputContext, OutputFactory, OutputState } from '../output/output';
import type { PrinterMedia } from '../output/printer-media';
import { PACKAGE_ROOT } from '../package-root';
import { HaDiscovery, type HaPrinterView } from './discovery';

export class HomeAssistantOutput implements Output {
  readonly name = 'homeassistant';
  private discovery: HaDiscovery | null = null;

  constructor(private readonly ctx: OutputContext) {}

  async start(): Promise<void> {
    const { config, tuning, printers, log } = this.ctx;
    const http = this.ctx.outputs().find((o) => o.name === 'http') as { port?: number } | undefined;
    const host = config.http.host;
    const shown = host === '0.0.0.0' || host === '::' ? hostname() : host.includes(':') ? `[${host}]` : host;
    const users = config.http.users;
    const urlToken = users.find((u) => u.token)?.token ?? null;
    if (users.length && !urlToken)
      log
        .child('homeassistant')
        .warn(
          'http.users has no token: Home Assistant cannot fetch the camera picture; give one user a token',
        );
    this.discovery = new HaDiscovery({
      config: config.homeassistant,
      urlToken,
      baseUrl: config.homeassistant.baseUrl ?? `http://${shown}:${http?.port ?? config.http.port}`,
      printers: () => [...printers.values()].map(haView),
      log: log.child('homeassistant'),
      version: packageVersion(),
      stateIntervalMs: tuning.haStateIntervalMs,
      reconnectMs: tuning.haReconnectMs,
    });
    this.discovery.start();
  }

  async stop(): Promise<void> {
    await this.discovery?.stop();
    this.discovery = null;
  }

  status(printerId: string): OutputState | undefined {
    if (!this.discovery || !this.ctx.printers.has(printerId)) return undefined;
    return { state: 'running' };
  }

  describe(): string[] {
    return this.discovery
      ? [`Home Assistant discovery on ${redactUrl(this.ctx.config.homeassistant.url ?? '')}`]
      : [];
  }
}

/** A broker URL without its password. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'the configured broker';
  }
}

function haView(p: PrinterMedia): HaPrinterView {
  const facts = p.facts();
  return {
    id: p.id,
    name: p.name,
    serial: p.serial,
    model: facts.model === 'auto' ? null : facts.model,
    firmware: facts.firmware,
    streaming: facts.state === 'streaming',
    fps: facts.fps,
    viewers: p.jpeg.subscriberCount,
    frameSeq: p.jpeg.latest?.seq ?? 0,
  };
}

function packageVersion(): string {
  try {
    return JSON.parse(readFileSync(resolve(PACKAGE_ROOT, 'package.json'), 'utf8')).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Off unless `homeassistant.url` is set. */
export const homeAssistantOutput: OutputFactory = (ctx) =>
  ctx.config.homeassistant.url ? new HomeAssistantOutput(ctx) : null;
