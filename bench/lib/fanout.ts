/**
 * The measuring loop shared by the fan-out benchmarks (MJPEG, native :6000): open N live clients
 * and S stalled ones on a target, wait, then read the target process's CPU and memory while the
 * clients count bytes and latencies; finally time ten new clients' first frames.
 */
import { createServer } from 'node:net';
import { cpuSeconds, percentile, rssMiB } from './procs';

/** What a benchmark client counts (an MJPEG viewer or a chamber-image client). */
export interface BenchClient {
  bytes: number;
  frames: number;
  /** Printer send → client receive, in ms, while `recording`. */
  latencies: number[];
  recording: boolean;
  /** Request → first complete picture, in ms. */
  firstFrameMs: number | null;
  close(): void;
}

export interface FanoutSample {
  clients: number;
  stalled: number;
  p50: number;
  p99: number;
  cpuPerGB: number;
  cpuPct: number;
  userPct: number;
  sysPct: number;
  rss: number;
  firstFrameMs: number;
  fps: number;
  gb: number;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

export interface FanoutRun {
  /** The serving process. */
  pid: number;
  open(paused: boolean): BenchClient;
  clients: number;
  stalled: number;
  warmupMs: number;
  measureMs: number;
  /** Read at the end of the window, before the clients close (e.g. the gateway's status API). */
  beforeClose?: () => Promise<void>;
}

export async function measureFanout(run: FanoutRun): Promise<FanoutSample> {
  const stuck = Array.from({ length: run.stalled }, () => run.open(true));
  const clients = Array.from({ length: run.clients }, () => run.open(false));
  await sleep(run.warmupMs);
  for (const c of clients) c.recording = true;
  const sum = (f: (c: BenchClient) => number) => clients.reduce((a, c) => a + f(c), 0);
  const bytes0 = sum((c) => c.bytes);
  const frames0 = sum((c) => c.frames);
  const cpu0 = cpuSeconds(run.pid);
  const t0 = Date.now();
  await sleep(run.measureMs);
  const cpu1 = cpuSeconds(run.pid);
  const secs = (Date.now() - t0) / 1000;
  const bytes = sum((c) => c.bytes) - bytes0;
  const frames = sum((c) => c.frames) - frames0;
  const rss = rssMiB(run.pid);
  await run.beforeClose?.();
  for (const c of clients) c.recording = false;
  const lat = clients.flatMap((c) => c.latencies).sort((a, b) => a - b);
  // A new client's first frame, measured on the loaded server.
  const firsts: number[] = [];
  for (let i = 0; i < 10; i++) {
    const c = run.open(false);
    while (c.firstFrameMs === null) await sleep(2);
    firsts.push(c.firstFrameMs);
    c.close();
  }
  for (const c of [...clients, ...stuck]) c.close();
  await sleep(300);
  const cpu = cpu1.total - cpu0.total;
  return {
    clients: run.clients,
    stalled: run.stalled,
    p50: percentile(lat, 50),
    p99: percentile(lat, 99),
    cpuPerGB: cpu / (bytes / 1e9),
    cpuPct: (100 * cpu) / secs,
    userPct: (100 * (cpu1.user - cpu0.user)) / secs,
    sysPct: (100 * (cpu1.sys - cpu0.sys)) / secs,
    rss,
    firstFrameMs: percentile(
      firsts.sort((a, b) => a - b),
      50,
    ),
    fps: frames / Math.max(1, run.clients) / secs,
    gb: bytes / 1e9,
  };
}
