/**
 * MJPEG fan-out benchmark: a simulated printer at 30 fps, N = 1, 10, 100 viewers, then stalled
 * viewers; bambucam and a bare broadcaster measured one after the other in the same run.
 * Prints latency p50/p99 (printer send → viewer receive), CPU seconds per GB delivered, RSS,
 * upstream connections, and a new viewer's time to first frame.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SimulatedChamberStats } from '../src/simulator/chamber-camera';
import { type FanoutSample, freePort, measureFanout, sleep } from './lib/fanout';
import { BenchViewer } from './lib/mjpeg-viewers';
import { startChild } from './lib/procs';

const FPS = Number(process.env.BENCH_FPS ?? 30);
const WARMUP_MS = 1500;
const MEASURE_MS = Number(process.env.BENCH_MEASURE_MS ?? 5000);
const COUNTS = (process.env.BENCH_VIEWERS ?? '1,10,100').split(',').map(Number);
const STALLED = 10;
const STALLED_WARMUP_MS = 10_000;

interface Target {
  name: string;
  pid: number;
  url: string;
  api?: string;
}

interface Figures extends FanoutSample {
  target: string;
  viewers: number;
  /** Largest backlog one viewer had in the gateway's memory at the end (bambucam only). */
  backlogKiB: number;
}

async function maxViewerBacklog(api: string): Promise<number> {
  const res = await fetch(api);
  const body = (await res.json()) as { outputs: { mjpeg?: { max_viewer_backlog_bytes: number } } };
  return (body.outputs.mjpeg?.max_viewer_backlog_bytes ?? 0) / 1024;
}

async function measure(t: Target, n: number, stalled = 0, warmupMs = WARMUP_MS): Promise<Figures> {
  let backlog = Number.NaN;
  const sample = await measureFanout({
    pid: t.pid,
    open: (paused) => new BenchViewer(t.url, paused),
    clients: n,
    stalled,
    warmupMs,
    measureMs: MEASURE_MS,
    beforeClose: async () => {
      if (t.api) backlog = await maxViewerBacklog(t.api);
    },
  });
  return { ...sample, target: t.name, viewers: n, backlogKiB: backlog };
}

async function main() {
  const sim = startChild<{ port: number }>(join(__dirname, 'lib', 'sim-process.js'), [String(FPS)]);
  const { port: simPort } = await sim.ready;
  const httpPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'bambucam-bench-'));
  const config = join(dir, 'bench.yaml');
  writeFileSync(
    config,
    `http: { port: ${httpPort}, host: 127.0.0.1 }\nlog: { level: warn }\nprinters:\n  - id: bench\n    host: 127.0.0.1\n    access_code: benchcode\n    camera: chamber\n    ports: { chamber: ${simPort} }\n`,
  );
  const gateway = startChild<unknown>(
    join(__dirname, '..', 'src', 'cli.js'),
    ['run', '--config', config],
    {},
    // BENCH_PROFILE=dir writes a CPU profile of the gateway there (open it in Chrome DevTools).
    process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [],
  );
  const bare = startChild<{ port: number }>(join(__dirname, 'lib', 'bare-broadcaster.js'), [
    String(simPort),
    'benchcode',
  ]);
  const { port: barePort } = await bare.ready;
  // Steady state: past start-up, including V8's "memory reducer" full collections a few seconds after
  // start (each pauses the process for ~5-10 ms and would land in the first rows' p99).
  await sleep(12_000);
  const targets: Target[] = [
    {
      name: 'bambucam',
      pid: gateway.proc.pid!,
      url: `http://127.0.0.1:${httpPort}/printers/bench/stream.mjpeg`,
      api: `http://127.0.0.1:${httpPort}/api/printers/bench`,
    },
    { name: 'bare', pid: bare.proc.pid!, url: `http://127.0.0.1:${barePort}/` },
  ];
  const rows: Figures[] = [];
  try {
    for (const n of COUNTS) for (const t of targets) rows.push(await measure(t, n));
    // Stalled viewers: long enough that the kernel's socket buffers are full and memory shows.
    for (const t of targets) rows.push(await measure(t, 10, STALLED, STALLED_WARMUP_MS));
    const stats = await sim.request<SimulatedChamberStats>({ cmd: 'stats' });
    const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '-');
    console.log(
      `\nMJPEG fan-out, simulated printer at ${FPS} fps, ${MEASURE_MS / 1000} s per row (node ${process.version})`,
    );
    console.log(
      '| target | viewers | stalled | p50 ms | p99 ms | CPU s/GB | CPU % (user) | RSS MiB | first frame ms | GB | max viewer backlog KiB |',
    );
    console.log('|---|---|---|---|---|---|---|---|---|---|---|');
    for (const r of rows) {
      console.log(
        `| ${r.target} | ${r.viewers} | ${r.stalled} | ${f(r.p50)} | ${f(r.p99)} | ${f(r.cpuPerGB, 2)} | ${f(r.cpuPct)} (${f(r.userPct)}) | ${f(r.rss)} | ${f(r.firstFrameMs)} | ${f(r.gb, 3)} | ${f(r.backlogKiB)} |`,
      );
    }
    console.log('\nbambucam / bare (same viewers):');
    console.log('| viewers | stalled | CPU/GB ratio | p99 ratio | RSS ratio |');
    console.log('|---|---|---|---|---|');
    for (let i = 0; i < rows.length; i += 2) {
      const [g, b] = [rows[i], rows[i + 1]];
      console.log(
        `| ${g.viewers} | ${g.stalled} | ${f(g.cpuPerGB / b.cpuPerGB, 2)} | ${f(g.p99 / b.p99, 2)} | ${f(g.rss / b.rss, 2)} |`,
      );
    }
    console.log(
      `\nupstream: the simulated printer saw ${stats.tcpConnections} TCP connections (bambucam 1 + bare 1), peak ${stats.peakStreams} streams at once`,
    );
  } finally {
    await Promise.all([gateway.stop(), bare.stop(), sim.stop()]);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
