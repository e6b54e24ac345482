/** Test helpers: boot the real app against simulated printers on loopback, capture logs, read HTTP. */
import { mkdtempSync, rmSync } from 'node:fs';
import { type IncomingMessage, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, type AppTuning } from '../src/app';
import { buildConfig } from '../src/config/load';
import { locateFfmpeg } from '../src/ffmpeg/locate';
import { type LogLevel, setLogLevel, setLogSink } from '../src/log';
import {
  type SimulatedPrinter,
  type SimulatedPrinterSpec,
  type SimulatedRtspsPrinter,
  type SimulatedRtspsSpec,
  startFleet,
  startRtspsFleet,
  stopFleet,
  stopRtspsFleet,
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

let rtspsCounter = 0;
/** An X1-type printer (RTSPS); small picture by default to spare the CPU of shared test machines. */
export function rtspsSpec(overrides: Partial<SimulatedRtspsSpec> = {}): SimulatedRtspsSpec {
  const n = ++rtspsCounter;
  return {
    id: `x${n}`,
    name: `X1C ${n}`,
    serial: `00M00A${String(n).padStart(9, '0')}`,
    accessCode: `xcode${String(n).padStart(3, '0')}`,
    model: 'X1C',
    width: 640,
    height: 360,
    fps: 30,
    ...overrides,
  };
}

export interface Gateway {
  app: App;
  fleet: SimulatedPrinter[];
  rtspsFleet: SimulatedRtspsPrinter[];
  base: string;
  /** rtsp://127.0.0.1:<port> of bambucam's RTSP server. */
  rtspBase: string;
  /** The gateway's data_dir (its local CA is in tls/ca.crt). */
  dataDir: string;
  stop(): Promise<void>;
}

export async function startGateway(
  specs: SimulatedPrinterSpec[],
  opts: {
    tuning?: AppTuning;
    /** Overrides of a simulated chamber printer's config entry. */
    entry?: (p: SimulatedPrinter) => Record<string, unknown>;
    rtsps?: SimulatedRtspsSpec[];
    /** Overrides of a simulated RTSPS printer's config entry. */
    rtspsEntry?: (p: SimulatedRtspsPrinter) => Record<string, unknown>;
    config?: Record<string, unknown>;
    /** Kept after stop when given (tests of restarts); else a temporary directory removed on stop. */
    dataDir?: string;
    /** ffmpeg for the gateway's transcoders; null: none (as on a machine without ffmpeg). */
    ffmpegPath?: string | null;
  } = {},
): Promise<Gateway> {
  const fleet = await startFleet(specs);
  const rtspsFleet = opts.rtsps?.length
    ? await startRtspsFleet(opts.rtsps, locateFfmpeg()?.path ?? 'ffmpeg')
    : [];
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'bambucam-test-'));
  const loaded = buildConfig({
    http: { port: 0, host: '127.0.0.1' },
    rtsp: { port: 0, host: '127.0.0.1' },
    data_dir: dataDir,
    webrtc: { host: '127.0.0.1', port: 0, candidates: ['127.0.0.1'] },
    ...opts.config,
    printers: [
      ...fleet.map((p) => ({
        ...p.configEntry(),
        // Native servers on free loopback ports, so tests never fight over :6000 and :8883.
        native: { chamber: { port: 0, host: '127.0.0.1' }, mqtt: { port: 0, host: '127.0.0.1' } },
        ...(opts.entry?.(p) ?? {}),
      })),
      ...rtspsFleet.map((p) => {
        const entry = p.configEntry();
        return {
          ...entry,
          native: {
            ...(entry.native as object),
            chamber: { port: 0, host: '127.0.0.1' },
            mqtt: { port: 0, host: '127.0.0.1' },
          },
          ...(opts.rtspsEntry?.(p) ?? {}),
        };
      }),
    ],
  });
  const app = new App({
    config: loaded.config,
    tuning: { ...FAST_TUNING, ...opts.tuning },
    ...(opts.ffmpegPath !== undefined ? { ffmpegPath: opts.ffmpegPath } : {}),
  });
  await app.start();
  return {
    app,
    fleet,
    rtspsFleet,
    base: `http://127.0.0.1:${app.httpPort}`,
    rtspBase: `rtsp://127.0.0.1:${app.rtspPort}`,
    dataDir,
    async stop() {
      await app.stop();
      await stopFleet(fleet);
      await stopRtspsFleet(rtspsFleet);
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface HttpAnswer {
  status: number;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

export function httpGet(
  url: string,
  timeoutMs = 10_000,
  headers: Record<string, string> = {},
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
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
