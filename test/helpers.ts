/** Test helpers: boot the real app against simulated printers on loopback, capture logs, read HTTP. */
import { mkdtempSync, rmSync } from 'node:fs';
import { type IncomingMessage, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, type AppTuning } from '../src/app';
import { buildConfig } from '../src/config/load';
import { type LogLevel, setLogLevel, setLogSink } from '../src/log';
import {
  type SimulatedPrinter,
  type SimulatedPrinterSpec,
  startFleet,
  stopFleet,
} from '../src/simulator/fleet';

export const FAST_TUNING: AppTuning = {
  backoffMs: [200, 500, 1000],
  longBackoffMs: [30_000, 60_000],
  connectTimeoutMs: 3000,
  frameTimeoutMs: 5000,
  stallTimeoutMs: 3000,
};

let specCounter = 0;
export function spec(overrides: Partial<SimulatedPrinterSpec> = {}): SimulatedPrinterSpec {
  const n = ++specCounter;
  return {
    id: `p${n}`,
    name: `Printer ${n}`,
    serial: `01P00A${String(n).padStart(9, '0')}`,
    accessCode: `code${String(n).padStart(4, '0')}`,
    model: 'P1S',
    fps: 10,
    ...overrides,
  };
}

/** Every log line written while the test runs, with a way to restore the real sink. */
export function captureLogs(level: LogLevel = 'debug'): { lines: string[]; restore: () => void } {
  const lines: string[] = [];
  const prev = setLogSink((line) => lines.push(line));
  setLogLevel(level);
  return {
    lines,
    restore: () => {
      setLogSink(prev);
      setLogLevel('info');
    },
  };
}

export interface Gateway {
  app: App;
  fleet: SimulatedPrinter[];
  base: string;
  stop(): Promise<void>;
}

export async function startGateway(
  specs: SimulatedPrinterSpec[],
  opts: {
    tuning?: AppTuning;
    entry?: (p: SimulatedPrinter) => Record<string, unknown>;
    /** Kept after stop when given (tests of restarts); else a temporary directory removed on stop. */
    dataDir?: string;
  } = {},
): Promise<Gateway> {
  const fleet = await startFleet(specs);
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'bambucam-test-'));
  const loaded = buildConfig({
    http: { port: 0, host: '127.0.0.1' },
    data_dir: dataDir,
    printers: fleet.map((p) => ({
      ...p.configEntry(),
      // Native servers on free loopback ports, so tests never fight over :6000.
      native: { chamber: { port: 0, host: '127.0.0.1' } },
      ...(opts.entry?.(p) ?? {}),
    })),
  });
  const app = new App({ config: loaded.config, tuning: { ...FAST_TUNING, ...opts.tuning } });
  await app.start();
  return {
    app,
    fleet,
    base: `http://127.0.0.1:${app.httpPort}`,
    async stop() {
      await app.stop();
      await stopFleet(fleet);
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface HttpAnswer {
  status: number;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

export function httpGet(url: string, timeoutMs = 10_000): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(url, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`timeout: ${url}`)));
    req.on('error', reject);
    req.end();
  });
}

export async function httpJson<T = Record<string, unknown>>(url: string): Promise<T> {
  const res = await httpGet(url);
  return JSON.parse(res.body.toString()) as T;
}

/** Poll `check` until it returns a truthy value or time runs out. */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<NonNullable<Awaited<T>>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<Awaited<T>>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
