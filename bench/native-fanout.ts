/**
 * Native :6000 fan-out benchmark: a simulated printer at 30 fps, N = 1, 10, 100 chamber-image
 * clients, then clients beside stalled ones; bambucam's native server and a bare TLS broadcaster
 * (bench/lib/native-bare.ts: one write per frame, no record framing, no hub) measured one after the
 * other in the same run, each in its own process. Prints latency p50/p99 (printer send → client
 * receive), CPU seconds per GB delivered, RSS, and the ratios bambucam / bare.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SimulatedChamberStats } from '../src/simulator/chamber-camera';
import { type FanoutSample, freePort, measureFanout, sleep } from './lib/fanout';
import { NativeBenchViewer } from './lib/native-viewers';
import { startChild } from './lib/procs';

const FPS = Number(process.env.BENCH_FPS ?? 30);
const WARMUP_MS = 1500;
const MEASURE_MS = Number(process.env.BENCH_MEASURE_MS ?? 4000);
const COUNTS = (process.env.BENCH_VIEWERS ?? '1,10,100').split(',').map(Number);
const STALLED = 10;
/** Stalled clients are measured once the kernel's socket buffers for them are full. */
const STALLED_WARMUP_MS = 10_000;
const CODE = 'benchcode';

interface Target {
  name: string;
  pid: number;
  port: number;
}

interface Figures extends FanoutSample {
  target: string;
}

async function measure(t: Target, n: number, stalled = 0, warmupMs = WARMUP_MS): Promise<Figures> {
  const sample = await measureFanout({
    pid: t.pid,
    open: (paused) => new NativeBenchViewer(t.port, CODE, paused),
    clients: n,
    stalled,
    warmupMs,
    measureMs: MEASURE_MS,
  });
  return { ...sample, target: t.name };
}

async function main() {
  const sim = startChild<{ port: number }>(join(__dirname, 'lib', 'sim-process.js'), [String(FPS)]);
  const { port: simPort } = await sim.ready;
  const [httpPort, nativePort] = [await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), 'bambucam-bench-native-'));
  const config = join(dir, 'bench.yaml');
  writeFileSync(
    config,
    [
      `http: { port: ${httpPort}, host: 127.0.0.1 }`,
      `data_dir: ${join(dir, 'data')}`,
      'log: { level: warn }',
      'printers:',
      '  - id: bench',
      '    host: 127.0.0.1',
      `    access_code: ${CODE}`,
      '    serial: 01P00A000000042',
      '    camera: chamber',
      '    mqtt: false',
      `    ports: { chamber: ${simPort} }`,
      `    native: { chamber: { port: ${nativePort}, host: 127.0.0.1 }, rtsps: false }`,
      '',
    ].join('\n'),
  );
  const gateway = startChild<unknown>(
    join(__dirname, '..', 'src', 'cli.js'),
    ['run', '--config', config],
    {},
    process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [],
  );
  const bare = startChild<{ port: number }>(join(__dirname, 'lib', 'native-bare.js'), [
    String(simPort),
    CODE,
  ]);
  const { port: barePort } = await bare.ready;
  // The same floor with the printer's 4096-byte records: what the record size alone costs. The
  // simulated printer takes two camera connections, so this one has a printer of its own.
  const sim2 = startChild<{ port: number }>(join(__dirname, 'lib', 'sim-process.js'), [String(FPS)]);
  const bare4k = startChild<{ port: number }>(
    join(__dirname, 'lib', 'native-bare.js'),
    [String((await sim2.ready).port), CODE],
    { BENCH_BARE_FRAGMENT: '4096' },
  );
  const { port: bare4kPort } = await bare4k.ready;
  await sleep(3000); // gateway connected (CA and leaf made) and streaming
  const targets: Target[] = [
    { name: 'bambucam', pid: gateway.proc.pid!, port: nativePort },
    { name: 'bare', pid: bare.proc.pid!, port: barePort },
  ];
  const rows: Figures[] = [];
  try {
    for (const n of COUNTS) for (const t of targets) rows.push(await measure(t, n));
    for (const t of targets) rows.push(await measure(t, 10, STALLED, STALLED_WARMUP_MS));
    const max = Math.max(...COUNTS);
    const small = await measure(
      { name: 'bare, 4096-byte records', pid: bare4k.proc.pid!, port: bare4kPort },
      max,
    );
    const stats = await sim.request<SimulatedChamberStats>({ cmd: 'stats' });
    const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '-');
    console.log(
      `\nNative :6000 fan-out, simulated printer at ${FPS} fps, ${MEASURE_MS / 1000} s per row (node ${process.version})`,
    );
    console.log(
      '| target | clients | stalled | fps per client | p50 ms | p99 ms | CPU s/GB | CPU % (kernel) | RSS MiB | first frame ms | GB |',
    );
    console.log('|---|---|---|---|---|---|---|---|---|---|---|');
    for (const r of rows) {
      console.log(
        `| ${r.target} | ${r.clients} | ${r.stalled} | ${f(r.fps)} | ${f(r.p50)} | ${f(r.p99)} | ${f(r.cpuPerGB, 2)} | ${f(r.cpuPct)} (${f(r.sysPct)}) | ${f(r.rss)} | ${f(r.firstFrameMs)} | ${f(r.gb, 3)} |`,
      );
    }
    console.log('\nbambucam / bare (same clients):');
    console.log('| clients | stalled | CPU/GB ratio | p50 ratio | p99 ratio | RSS ratio |');
    console.log('|---|---|---|---|---|---|');
    for (let i = 0; i < rows.length; i += 2) {
      const [g, b] = [rows[i], rows[i + 1]];
      console.log(
        `| ${g.clients} | ${g.stalled} | ${f(g.cpuPerGB / b.cpuPerGB, 2)} | ${f(g.p50 / b.p50, 2)} | ${f(g.p99 / b.p99, 2)} | ${f(g.rss / b.rss, 2)} |`,
      );
    }
    const g = rows.find((r) => r.target === 'bambucam' && r.clients === max && !r.stalled)!;
    console.log(
      `\nbare with the printer's 4096-byte records, ${max} clients: ${f(small.cpuPerGB, 2)} CPU s/GB, p99 ${f(small.p99)} ms; bambucam / it: CPU/GB ${f(g.cpuPerGB / small.cpuPerGB, 2)}, p99 ${f(g.p99 / small.p99, 2)}`,
    );
    console.log(
      `\nupstream: the simulated printer saw ${stats.tcpConnections} TCP connections (bambucam 1 + bare 1), peak ${stats.peakStreams} streams at once`,
    );
  } finally {
    await Promise.all([gateway.stop(), bare.stop(), bare4k.stop(), sim.stop(), sim2.stop()]);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
