/**
 * The composition root: builds a worker per printer and the servers in front of them, and starts
 * and stops them in order. Nothing else knows the whole configuration.
 */
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import type { GatewayConfig } from './config/load';
import { HaDiscovery, type HaPrinterView } from './ha/discovery';
import { type Logger, rootLogger } from './log';
import { createHttpApp, listen, PACKAGE_ROOT } from './serve/http/server';
import { NativeChamberOutputs } from './serve/native-chamber-outputs';
import { PrinterWorker, type WorkerTuning } from './worker';

export interface AppTuning extends WorkerTuning {
  mjpegResendMs?: number;
  snapshotWaitMs?: number;
  nativeAuthTimeoutMs?: number;
  /** Home Assistant: how often entity states are published. */
  haStateIntervalMs?: number;
  /** Home Assistant: wait between attempts to reach its broker. */
  haReconnectMs?: number;
}

export interface AppOptions {
  config: GatewayConfig;
  log?: Logger;
  tuning?: AppTuning;
}

export class App {
  readonly workers = new Map<string, PrinterWorker>();
  readonly nativeChamber: NativeChamberOutputs;
  private http: Server | null = null;
  private ha: HaDiscovery | null = null;
  private readonly log: Logger;

  constructor(private readonly opts: AppOptions) {
    this.log = opts.log ?? rootLogger;
    for (const printer of opts.config.printers) {
      this.workers.set(printer.id, new PrinterWorker(printer, this.log.child(printer.id), opts.tuning));
    }
    this.nativeChamber = new NativeChamberOutputs({
      config: opts.config,
      workers: this.workers,
      log: this.log,
      authTimeoutMs: opts.tuning?.nativeAuthTimeoutMs,
    });
  }

  get httpPort(): number {
    return (this.http?.address() as AddressInfo | null)?.port ?? 0;
  }

  async start(): Promise<void> {
    const { config, tuning } = this.opts;
    const app = createHttpApp({
      workers: this.workers,
      log: this.log.child('http'),
      mjpegResendMs: tuning?.mjpegResendMs,
      snapshotWaitMs: tuning?.snapshotWaitMs,
    });
    try {
      this.http = await listen(app, config.http.port, config.http.host);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const hint =
        e.code === 'EADDRINUSE'
          ? 'another program uses it; set http.port (or BAMBUCAM_HTTP_PORT) to a free port'
          : e.code === 'EACCES'
            ? 'ports below 1024 need privileges; use a higher http.port'
            : e.message;
      throw new Error(`[http] cannot listen on ${config.http.host}:${config.http.port}: ${hint}`);
    }
    this.log.child('http').info(`listening on http://${config.http.host}:${this.httpPort}/`);
    await this.nativeChamber.start();
    for (const worker of this.workers.values()) worker.start();
    this.startHomeAssistant();
  }

  // --- Home Assistant MQTT discovery (issue 6) ---
  private startHomeAssistant(): void {
    const { config, tuning } = this.opts;
    if (!config.homeassistant.url) return;
    const host = config.http.host;
    const shown = host === '0.0.0.0' || host === '::' ? hostname() : host.includes(':') ? `[${host}]` : host;
    this.ha = new HaDiscovery({
      config: config.homeassistant,
      baseUrl: config.homeassistant.baseUrl ?? `http://${shown}:${this.httpPort}`,
      printers: () => [...this.workers.values()].map(haView),
      log: this.log.child('homeassistant'),
      version: packageVersion(),
      stateIntervalMs: tuning?.haStateIntervalMs,
      reconnectMs: tuning?.haReconnectMs,
    });
    this.ha.start();
  }
  // ---

  async stop(): Promise<void> {
    await this.ha?.stop();
    this.ha = null;
    await this.nativeChamber.stop();
    await Promise.all([...this.workers.values()].map((w) => w.stop()));
    const http = this.http;
    this.http = null;
    if (http) {
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    }
  }
}

function haView(w: PrinterWorker): HaPrinterView {
  return {
    id: w.id,
    name: w.printer.name,
    serial: w.printer.serial,
    model: w.modelName === 'auto' ? null : w.modelName,
    firmware: w.mqtt?.version?.firmware ?? null,
    streaming: w.status.state === 'streaming',
    fps: w.hub.fps(),
    viewers: w.hub.subscriberCount,
    frameSeq: w.hub.latest?.seq ?? 0,
  };
}

function packageVersion(): string {
  try {
    return JSON.parse(readFileSync(resolve(PACKAGE_ROOT, 'package.json'), 'utf8')).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
