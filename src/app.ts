/**
 * The composition root: builds a worker per printer and the servers in front of them, and starts
 * and stops them in order. Nothing else knows the whole configuration.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { GatewayConfig } from './config/load';
import { type Logger, rootLogger } from './log';
import { createHttpApp, listen } from './serve/http/server';
import { NativeChamberOutputs } from './serve/native-chamber-outputs';
import { PrinterWorker, type WorkerTuning } from './worker';

export interface AppTuning extends WorkerTuning {
  mjpegResendMs?: number;
  snapshotWaitMs?: number;
  nativeAuthTimeoutMs?: number;
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
  }

  async stop(): Promise<void> {
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
