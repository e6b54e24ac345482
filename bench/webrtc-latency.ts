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
 * Run: npm run bench:webrtc   (BENCH_WARMUP_MS, BENCH_MEASURE_MS, BENCH_CPU_MS, BENCH_ROUNDS change the
 * windows; BENCH_ONLY=x1c or p1s measures one printer)
 */

import { mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import { App } from '../src/app';
import { buildConfig } from '../src/config/load';
import { type LogLevel, setLogLevel } from '../src/log';
import { readTimecode, TIMECODE_BLOCK, TIMECODE_WIDTH, timecodeAge } from '../src/simulator/timecode';
import { launchBrowser } from '../test/browser';
import { CLOCK_SIMS } from './lib/clock-sims';
import { percentile, startChild } from './lib/procs';

const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? 8000);
const MEASURE_MS = Number(process.env.BENCH_MEASURE_MS ?? 20000);
const CPU_MS = Number(process.env.BENCH_CPU_MS ?? 10000);
const PEERS = 10;
/** Alternating WebRTC / LL-HLS rounds per printer; each round measures MEASURE_MS / ROUNDS. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
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
  const loadBefore = loadavg()[0].toFixed(1);
  const rows: string[] = [];
  const notes: string[] = [];
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
      if (process.env.BENCH_ONLY && process.env.BENCH_ONLY !== id) continue;
      const printer = `${base}/printers/${id}`;
      // Chamber: how old each new picture already is when it reaches the gateway (drawing, JPEG,
      // TLS), read from the JPEGs the gateway receives — the rest is encoder, WebRTC and browser.
      const arrival: number[] = [];
      const media = app.workers.get(id)!;
      const tap =
        id === 'p1s'
          ? media.jpeg.subscribe(
              {
                send: (frame, done) => {
                  void sharp(frame.jpeg)
                    .extract({ left: 0, top: 0, width: TIMECODE_WIDTH, height: TIMECODE_BLOCK })
                    .greyscale()
                    .raw()
                    .toBuffer()
                    .then((px) => {
                      const v = readTimecode((x, y) => px[y * TIMECODE_WIDTH + x]);
                      if (v !== null) arrival.push(timecodeAge(v, frame.receivedAt));
                    })
                    .finally(done);
                },
                close: () => {},
              },
              { output: 'bench' },
            )
          : null;
      // The same printer over WebRTC and over LL-HLS in the same run, one after the other in
      // alternating rounds (one decoder at a time: two 720p30 software decoders at once on two shared
      // cores measure the machine, not the protocol).
      const samples = {
        webrtc: [] as number[],
        hls: [] as number[],
        inBrowser: [] as number[],
        unreadable: 0,
        sizes: new Set<string>(),
      };
      for (let round = 0; round < ROUNDS; round++) {
        for (const kind of ['webrtc', 'hls'] as const) {
          const v =
            kind === 'webrtc'
              ? await call<number>(page, 'webrtc', `${printer}/whep`, `${id} WebRTC`)
              : await call<number>(page, 'hls', `${printer}/hls/index.m3u8`, `${id} LL-HLS`);
          await sleep(WARMUP_MS);
          await call(page, 'record', [v], true);
          await sleep(MEASURE_MS / ROUNDS);
          await call(page, 'record', [v], false);
          const r = await call<{
            ages: number[];
            inBrowser: number[];
            unreadable: number;
            width: number;
            height: number;
          }>(page, 'result', v);
          samples[kind].push(...r.ages);
          if (kind === 'webrtc') samples.inBrowser.push(...r.inBrowser);
          samples.unreadable += r.unreadable;
          samples.sizes.add(`${kind} ${r.width}×${r.height}`);
          if (round === 0) await page.screenshot({ path: join(OUT, `webrtc-latency-${id}-${kind}.png`) });
          await call(page, 'stop', [v]);
        }
      }
      const w = [...samples.webrtc].sort((a, b) => a - b);
      const h = [...samples.hls].sort((a, b) => a - b);
      const ratio = percentile(h, 50) / percentile(w, 50);
      rows.push(
        `| ${label} | ${ms(percentile(w, 50))} | ${ms(percentile(w, 90))} | ${ms(w[0])}–${ms(w.at(-1) ?? Number.NaN)} | ${w.length} | ${ms(percentile(h, 50))} | ${ms(percentile(h, 90))} | ${h.length} | ${ratio.toFixed(1)}× |`,
      );
      tap?.unsubscribe();
      if (samples.inBrowser.length) {
        const sorted = samples.inBrowser.sort((x, y) => x - y);
        notes.push(
          `${label}: WebRTC pictures are shown ${ms(percentile(sorted, 50))} (p50; p90 ${ms(percentile(sorted, 90))}) after their last packet arrived (jitter buffer, decoding, drawing)`,
        );
      }
      if (arrival.length) {
        const sorted = arrival.sort((x, y) => x - y);
        notes.push(
          `${label}: a picture is already ${ms(percentile(sorted, 50))} old (p50; p90 ${ms(percentile(sorted, 90))}) when it reaches the gateway (simulator drawing + JPEG + TLS)`,
        );
      }
      if (samples.unreadable > 0)
        console.error(`${id}: ${samples.unreadable} presented frames had no readable clock`);
      console.error(`${id}: ${[...samples.sizes].join(', ')}`);
      // CPU: peers that receive without decoding (the gateway's work is the same either way), added
      // one at a time, each once the previous one receives. The HLS muxer has gone idle by now.
      await sleep(3000);
      const all: number[] = [];
      let receiving = 0;
      const addPeer = async () => {
        all.push(await call<number>(page, 'webrtc', `${printer}/whep`, `${id} #${all.length + 1}`, 0));
        const deadline = Date.now() + 20_000;
        while (Date.now() < deadline) {
          receiving = (await call<number[]>(page, 'packetsReceived', all)).filter((n) => n > 0).length;
          if (receiving === all.length) break;
          await sleep(250);
        }
      };
      await addPeer();
      await sleep(2000);
      const one = await cpuPercent(CPU_MS);
      while (all.length < PEERS) await addPeer();
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
      `WebRTC vs LL-HLS, glass to glass (picture presented in Chromium − wall clock drawn into it by the simulator), ${ROUNDS} alternating rounds each, ${WARMUP_MS / 1000} s warm-up and ${MEASURE_MS / ROUNDS / 1000} s measured per round; load average ${loadBefore} before, ${loadavg()[0].toFixed(1)} after`,
    );
    console.log(
      '| printer | WebRTC p50 | WebRTC p90 | WebRTC min–max | pictures | LL-HLS p50 | LL-HLS p90 | pictures | LL-HLS ÷ WebRTC (p50) |',
    );
    console.log('|---|---|---|---|---|---|---|---|---|');
    for (const r of rows) console.log(r);
    for (const n of notes) console.log(n);
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
