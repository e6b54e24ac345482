/**
 * The output contract: everything bambucam serves (HTTP, RTSP, the native re-servers, Home
 * Assistant, and every later one) is an Output built by a factory from one OutputContext, listed
 * once in src/output/registry.ts, started and stopped in that order by the App. Constructors only
 * assign and register; start() binds; stop() releases everything.
 *
 * Viewer counts and delivered/dropped/stalled counters come from the hubs by themselves (readers
 * subscribe with their output's name); status() adds what only the output knows: where it listens,
 * or why it does not, per printer.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Router } from 'express';
import type { Registry } from 'prom-client';
import type { AppTuning } from '../app-tuning';
import type { GatewayConfig } from '../config/load';
import type { Logger } from '../log';
import type { GuardStatusJson } from '../serve/guard/address-guard';
import type { LocalCa } from '../tls/ca';
import type { PrinterMedia } from './printer-media';

/** An output's state for one printer, as /api/printers and /metrics show it. */
export interface OutputState {
  /** 'listening' (bound), 'running' (no listener of its own), 'disabled' (by configuration), 'failed'. */
  state: 'listening' | 'running' | 'disabled' | 'failed';
  /** Where it listens (`0.0.0.0:6000`, `rtsps://0.0.0.0:322/streaming/live/1`). */
  listen?: string;
  /** Why it is disabled or failed, naming the key to change. */
  reason?: string | null;
  /** Anything else this output reports (viewers' details, auth failures, ...). */
  [extra: string]: unknown;
}

export interface Output {
  /** Output name, as in counters and the API: 'http', 'rtsp', 'native_chamber', ... */
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** This output's state for one printer; undefined when it does not serve printers one by one. */
  status(printerId: string): OutputState | undefined;
  /**
   * Where this output serves pictures beyond this machine without asking for credentials
   * (`http on 0.0.0.0:8090`); the App says so in one line at start. Omit when it always authenticates.
   */
  openToNetwork?(): string[];
  /** Lines for the start-up banner: URLs and how to reach it, never a secret. Empty when not listening. */
  describe(): string[];
  /**
   * Metrics only this output knows (the wall's connections, say), added to /metrics once at start.
   * Per-printer viewers and counters need none: they come from the hubs' output counters.
   */
  registerMetrics?(registry: Registry): void;
  /**
   * The per-address guard of a listener shared by all printers (HTTP, RTSP): its counters for the API
   * (`/api/printers` → `outputs.<name>.guard`) and /metrics. An output with a listener per printer
   * puts `guard` in status(printerId) instead.
   */
  guard?(): GuardStatusJson | null;
}

export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/** Routes and WebSocket upgrades that outputs add to the one HTTP server (which mounts them at start). */
export interface HttpRoutes {
  readonly routers: readonly Router[];
  readonly upgrades: ReadonlyMap<string, UpgradeHandler>;
  /** Mount an express router; its paths are absolute (`/printers/:id/whep`). Auth applies like to every route. */
  use(router: Router): void;
  /** Take WebSocket (or other) upgrades on one path (`/api/wall`). */
  upgrade(path: string, handler: UpgradeHandler): void;
}

export interface OutputContext {
  config: GatewayConfig;
  printers: ReadonlyMap<string, PrinterMedia>;
  log: Logger;
  tuning: AppTuning;
  /** bambucam's local CA (data_dir/tls), loaded or created once on first call; throws if it cannot be. */
  ca(): LocalCa;
  http: HttpRoutes;
  /** Every output of the App, in registry order (complete once all factories ran; read it in start() or later). */
  outputs(): readonly Output[];
}

/** Builds one output (or none, when the configuration turns it off entirely). */
export type OutputFactory = (ctx: OutputContext) => Output | null;
