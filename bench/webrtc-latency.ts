/**
 * WebRTC benchmark: glass-to-glass latency of bambucam's WebRTC (WHEP) output in Debian's chromium,
 * side by side with LL-HLS in the same run, for an RTSPS printer (720p30 H.264 passed through) and a
 * chamber printer (5 fps JPEG → the shared encoder → H.264); and the gateway's CPU per WebRTC peer.
 *
 * Latency: the simulators draw the wall clock into every picture as a strip of blocks
 * (src/simulator/timecode.ts: the chamber simulator when it draws a picture, the RTSPS simulator's
 * ffmpeg when it makes a frame, before encoding); the page reads the strip back from every picture
 * it presents (requestVideoFrameCallback) and takes presentation time − drawn time, once per picture.
 * Unlike bench/hls-latency.ts (which reads hls.js' playingDate, the time bambucam received the
 * picture), this includes the camera side and the printer connection. Simulators, gateway and
 * browser share one machine and one clock; the simulators run in a child process, so the gateway's
 * CPU (this process) is measured alone.
 *
 * Run: npm run bench:webrtc   (BENCH_WARMUP_MS, BENCH_MEASURE_MS, BENCH_CPU_MS to change the windows)
 */

import { mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { build } from 'esbuild';
import type { Page } from 'playwright-core';
import { App } from '../src/app';
import { buildConfig } from '../src/config/load';
import { type LogLevel, setLogLevel } from '../src/log';
import { launchBrowser } from '../test/browser';
import { CLOCK_SIMS } from './lib/clock-sims';
import { percentile, startChild } from './lib/procs';

const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? 8000);
const MEASURE_MS = Number(process.env.BENCH_MEASURE_MS ?? 20000);
const CPU_MS = Number(process.env.BENCH_CPU_MS ?? 10000);
const PEERS = 10;
const CHAMBER_FPS = 5;
const OUT = join(__dirname, '..', '..', 'test-artifacts', 'bench');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Bench = {
  webrtc(url: string, label: string, width?: number): Promise<number>;
  hls(url: string, label: string, width?: number): number;
  record(indexes: number[], on: boolean): void;
  result(i: number): { ages: number[]; unreadable: number; width: number; height: number };
  packetsReceived(indexes: number[]): Promise<number[]>;
  stop(indexes: number[]): void;
};

/** Call window.bench.<fn>(...args) in the page. */
function call<R>(page: Page, fn: keyof Bench, ...args: unknown[]): Promise<R> {
  return page.evaluate(
    ([name, a]) =>
      // biome-ignore lint/suspicious/noExplicitAny: the page's bench API
      ((window as any).bench[name as string] as (...x: unknown[]) => unknown)(
        ...(a as unknown[]),
      ) as Promise<R>,
    [fn, args] as const,
  ) as Promise<R>;
}

async function pageServer(): Promise<{ url: string; close: () => void }> {
  const bundle = await build({
    entryPoints: [join(__dirname, '..', '..', 'bench', 'lib', 'latency-page.ts')],
    bundle: true,
    format: 'iife',
    write: false,
    alias: { 'hls.js': 'hls.js/dist/hls.light.mjs' },
    logLevel: 'warning',
  });
  const js = bundle.outputFiles[0].contents;
  const html =
    '<!doctype html><html><head><meta charset="utf-8"><script src="/bench.js"></script></head><body style="background:#111;margin:8px"></body></html>';
  const server = createServer((req, res) => {
    if (req.url === '/bench.js') res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(js);
    else res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(html);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, close: () => server.close() };
}

interface Latency {
  sorted: number[];
  unreadable: number;
  size: string;
}

function latency(r: { ages: number[]; unreadable: number; width: number; height: number }): Latency {
  return {
    sorted: [...r.ages].sort((a, b) => a - b),
    unreadable: r.unreadable,
    size: `${r.width}×${r.height}`,
  };
}

const ms = (n: number) => (Number.isFinite(n) ? `${Math.round(n)} ms` : 'n/a');

/** CPU of this process (the gateway) as % of one core over `windowMs`. */
async function cpuPercent(windowMs: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  await sleep(windowMs);
  const c = process.cpuUsage(c0);
  const wall = Number(process.hrtime.bigint() - t0) / 1000;
  return ((c.user + c.system) / wall) * 100;
}

async function main(): Promise<void> {
  setLogLevel((process.env.BENCH_LOG as LogLevel | undefined) ?? 'warn');
  mkdirSync(OUT, { recursive: true });
  const sims = startChild<{ chamberPort: number; rtspsPort: number }>(
    join(__dirname, 'lib', 'clock-sims.js'),
    [String(CHAMBER_FPS)],
  );
  const ports = await sims.ready;
  const loaded = buildConfig({
    http: { port: 0, host: '127.0.0.1' },
    rtsp: { port: 0, host: '127.0.0.1' },
    webrtc: { host: '127.0.0.1', port: 0, candidates: ['127.0.0.1'] },
    printers: [
      {
        id: 'p1s',
        name: 'Bench P1S',
        host: '127.0.0.1',
        access_code: CLOCK_SIMS.chamber.accessCode,
        serial: CLOCK_SIMS.chamber.serial,
        model: 'P1S',
        camera: 'chamber',
        mqtt: false,
        ports: { chamber: ports.chamberPort },
        native: { chamber: false, rtsps: false },
      },
      {
        id: 'x1c',
        name: 'Bench X1C',
        host: '127.0.0.1',
        access_code: CLOCK_SIMS.rtsps.accessCode,
        serial: CLOCK_SIMS.rtsps.serial,
        model: 'X1C',
        camera: 'rtsps',
        mqtt: false,
        ports: { rtsps: ports.rtspsPort },
        native: { chamber: false, rtsps: false },
      },
    ],
  });
  const app = new App({ config: loaded.config, tuning: { hlsIdleStopMs: 2000, idleStopMs: 2000 } });
  await app.start();
  const base = `http://127.0.0.1:${app.httpPort}`;
  const host = await pageServer();
  const browser = await launchBrowser();
  const rows: string[] = [];
  const cpu: string[] = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('console', (m) => {
      if (m.type() === 'warning' || m.type() === 'error') console.error(`page: ${m.text()}`);
    });
    await page.goto(host.url);
    for (const [id, label] of [
      ['x1c', 'RTSPS X1C 720p30 (H.264 passed through)'],
      ['p1s', `chamber P1S ${CHAMBER_FPS} fps (JPEG → encoder, 10 fps, GOP 1 s)`],
    ] as const) {
      const printer = `${base}/printers/${id}`;
      // Side by side in one page: the same printer over WebRTC and over LL-HLS, measured together.
      const rtc = await call<number>(page, 'webrtc', `${printer}/whep`, `${id} WebRTC`);
      const hls = await call<number>(page, 'hls', `${printer}/hls/index.m3u8`, `${id} LL-HLS`);
      await sleep(WARMUP_MS);
      await call(page, 'record', [rtc, hls], true);
      await sleep(MEASURE_MS);
      await call(page, 'record', [rtc, hls], false);
      const w = latency(await call(page, 'result', rtc));
      const h = latency(await call(page, 'result', hls));
      await page.screenshot({ path: join(OUT, `webrtc-latency-${id}.png`) });
      const ratio = percentile(h.sorted, 50) / percentile(w.sorted, 50);
      rows.push(
        `| ${label} | ${ms(percentile(w.sorted, 50))} | ${ms(percentile(w.sorted, 90))} | ${ms(w.sorted[0])}–${ms(w.sorted.at(-1) ?? Number.NaN)} | ${w.sorted.length} | ${ms(percentile(h.sorted, 50))} | ${ms(percentile(h.sorted, 90))} | ${h.sorted.length} | ${ratio.toFixed(1)}× |`,
      );
      if (w.unreadable + h.unreadable > 0)
        console.error(`${id}: ${w.unreadable} + ${h.unreadable} presented frames had no readable clock`);
      console.error(`${id}: WebRTC ${w.size}, LL-HLS ${h.size}`);
      await call(page, 'stop', [hls]);
      // The HLS muxer stops when idle; then this process does the gateway's WebRTC work alone.
      await sleep(3000);
      const one = await cpuPercent(CPU_MS);
      const more: number[] = [];
      for (let i = 1; i < PEERS; i++)
        // The extra peers receive without decoding: the gateway's work is the same either way.
        more.push(await call<number>(page, 'webrtc', `${printer}/whep`, `${id} #${i + 1}`, 0));
      const all = [rtc, ...more];
      const deadline = Date.now() + 30_000;
      let receiving = 0;
      while (Date.now() < deadline) {
        receiving = (await call<number[]>(page, 'packetsReceived', all)).filter((n) => n > 0).length;
        if (receiving === all.length) break;
        await sleep(500);
      }
      await sleep(2000);
      const status = (await (await fetch(`${base}/api/printers/${id}`)).json()) as {
        viewers: Record<string, number>;
        upstream_connections_opened: number;
      };
      const ten = await cpuPercent(CPU_MS);
      cpu.push(
        `| ${label} | ${one.toFixed(1)} % | ${ten.toFixed(1)} % | ${((ten - one) / (receiving - 1)).toFixed(2)} % | ${receiving} of ${PEERS} | ${status.viewers.webrtc} | ${status.upstream_connections_opened} |`,
      );
      await call(page, 'stop', all);
      await sleep(1000);
    }
    console.log(
      `WebRTC vs LL-HLS, glass to glass (picture presented in Chromium − wall clock drawn into it by the simulator), ${WARMUP_MS / 1000} s warm-up, ${MEASURE_MS / 1000} s measured, both in the same page at once`,
    );
    console.log(
      '| printer | WebRTC p50 | WebRTC p90 | WebRTC min–max | pictures | LL-HLS p50 | LL-HLS p90 | pictures | LL-HLS ÷ WebRTC (p50) |',
    );
    console.log('|---|---|---|---|---|---|---|---|---|');
    for (const r of rows) console.log(r);
    console.log('');
    console.log(
      `Gateway CPU (this process, % of one core, ${CPU_MS / 1000} s windows) with 1 and ${PEERS} WebRTC peers on one printer`,
    );
    console.log(
      `| printer | 1 peer | ${PEERS} peers | per extra peer | peers receiving | webrtc viewers | upstream connections opened |`,
    );
    console.log('|---|---|---|---|---|---|---|');
    for (const c of cpu) console.log(c);
  } finally {
    await browser.close();
    host.close();
    await app.stop();
    await sims.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
