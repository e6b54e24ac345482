/**
 * HLS benchmark: live latency of the web player (hls.js in Debian's chromium) for a chamber printer
 * (JPEG → H.264 encoder → HLS) and an RTSPS printer (H.264 → HLS), with bambucam's hls.js settings
 * and with hls.js defaults; and the CPU cost of the in-process segmenter.
 *
 * Latency = the browser's clock minus hls.js' `playingDate`: the EXT-X-PROGRAM-DATE-TIME of the
 * picture on screen, which is when bambucam received that picture from the printer. (The chamber
 * simulator also draws its clock into each frame; the screenshots saved beside the figures show
 * the drawn time next to the page's clock for a visual cross-check.) Browser and gateway share
 * one machine, hence one clock.
 *
 * Run: npm run bench:hls   (BENCH_MEASURE_MS, BENCH_WARMUP_MS to change the windows)
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { App } from '../src/app';
import { buildConfig } from '../src/config/load';
import { locateFfmpeg } from '../src/ffmpeg/locate';
import { Segmenter } from '../src/hls/segmenter';
import type { StreamUnit } from '../src/hub/h264-stream';
import { setLogLevel } from '../src/log';
import { startFleet, startRtspsFleet, stopFleet, stopRtspsFleet } from '../src/simulator/fleet';
import { launchBrowser } from '../test/browser';
import { HLS_CONFIG } from '../web/src/hls-config';
import { percentile } from './lib/procs';

const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? 8000);
const MEASURE_MS = Number(process.env.BENCH_MEASURE_MS ?? 20000);
const OUT = join(__dirname, '..', '..', 'test-artifacts', 'bench');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Sample {
  latencies: number[];
  stalls: number;
  rate: number[];
}

/** In the page: a new <video> + hls.js (the bundled class, taken from a running player) sampled over time. */
async function sampleLatency(page: Page, url: string, config: object | null): Promise<Sample> {
  return page.evaluate(
    async ([u, cfg, warm, measure]) => {
      // biome-ignore lint/suspicious/noExplicitAny: page globals
      const w = window as any;
      // The bundled hls.js class, taken from the page's full-view player.
      const Hls = w.bambucamWall.player.hls.constructor;
      const video = document.createElement('video');
      video.muted = true;
      video.autoplay = true;
      video.style.width = '320px';
      document.body.append(video);
      const hls = cfg ? new Hls(cfg) : new Hls();
      let stalls = 0;
      video.addEventListener('waiting', () => stalls++);
      hls.loadSource(u);
      hls.attachMedia(video);
      await new Promise((r) => setTimeout(r, warm as number));
      stalls = 0;
      const latencies: number[] = [];
      const rate: number[] = [];
      const end = Date.now() + (measure as number);
      while (Date.now() < end) {
        const d = hls.playingDate as Date | null;
        if (d && !video.paused) latencies.push(Date.now() - d.getTime());
        rate.push(video.playbackRate);
        await new Promise((r) => setTimeout(r, 250));
      }
      hls.destroy();
      video.remove();
      return { latencies, stalls, rate };
    },
    [url, config, WARMUP_MS, MEASURE_MS] as const,
  );
}

function summary(name: string, s: Sample): string {
  const l = [...s.latencies].sort((a, b) => a - b);
  const f = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  return `| ${name} | ${f(percentile(l, 50))} | ${f(percentile(l, 90))} | ${f(l[0] ?? Number.NaN)} | ${f(l.at(-1) ?? Number.NaN)} | ${s.stalls} | ${l.length} |`;
}

/** Segmenter CPU: the captured units of `seconds` of video pushed through a fresh segmenter, repeatedly. */
function segmenterCpu(
  units: StreamUnit[],
  seconds: number,
): { usPerSecondOfVideo: number; pctOfCore: number } {
  const rounds = 50;
  const t0 = process.cpuUsage();
  for (let r = 0; r < rounds; r++) {
    const seg = new Segmenter();
    for (const u of units) seg.push(u.nals, u.timestamp, u.key, u.receivedAt);
  }
  const d = process.cpuUsage(t0);
  const us = (d.user + d.system) / rounds / seconds;
  return { usPerSecondOfVideo: us, pctOfCore: us / 10_000 };
}

async function main(): Promise<void> {
  setLogLevel('warn');
  mkdirSync(OUT, { recursive: true });
  const ffmpeg = locateFfmpeg()?.path ?? 'ffmpeg';
  const fleet = await startFleet([
    {
      id: 'p1s',
      name: 'Bench P1S',
      serial: '01P00A000000901',
      accessCode: 'benchcode',
      model: 'P1S',
      fps: 5,
    },
  ]);
  const rtsps = await startRtspsFleet(
    [
      {
        id: 'x1c',
        name: 'Bench X1C',
        serial: '00M00A000000901',
        accessCode: 'benchcod',
        model: 'X1C',
        width: 1280,
        height: 720,
        fps: 30,
      },
    ],
    ffmpeg,
  );
  const loaded = buildConfig({
    http: { port: 0, host: '127.0.0.1' },
    rtsp: { port: 0, host: '127.0.0.1' },
    // The page plays HLS here (bench/webrtc-latency.ts compares it with WebRTC).
    webrtc: { enabled: false },
    printers: [...fleet, ...rtsps].map((p) => p.configEntry()),
  });
  const app = new App({ config: loaded.config });
  await app.start();
  const base = `http://127.0.0.1:${app.httpPort}`;
  // The same launch as the browser tests: Debian's chromium with every flag our closed network needs.
  const browser = await launchBrowser();
  const lines: string[] = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(`${base}/`);
    // The page is a camera wall: open the chamber printer's full view, which plays LL-HLS.
    await page.waitForFunction(
      // biome-ignore lint/suspicious/noExplicitAny: page globals
      () => (window as any).bambucamWall?.client.printers.size === 2,
      undefined,
      { timeout: 30_000 },
    );
    // biome-ignore lint/suspicious/noExplicitAny: page globals
    await page.evaluate(() => (window as any).bambucamWall.open('p1s'));
    await page.waitForFunction(
      () => {
        const video = document.querySelector<HTMLVideoElement>('#full video');
        return video !== null && video.currentTime > 1;
      },
      undefined,
      { timeout: 60_000 },
    );
    const ours = HLS_CONFIG;
    lines.push(
      `HLS latency (browser clock − hls.js playingDate), ${WARMUP_MS / 1000} s warm-up, ${MEASURE_MS / 1000} s measured`,
    );
    lines.push('| printer, hls.js settings | p50 | p90 | min | max | stalls | samples |');
    lines.push('|---|---|---|---|---|---|---|');
    for (const [id, label] of [
      ['x1c', 'RTSPS X1C 720p30 (GOP 1 s)'],
      ['p1s', 'chamber P1S 5 fps (GOP 1 s)'],
    ] as const) {
      const url = `${base}/printers/${id}/hls/index.m3u8`;
      lines.push(summary(`${label}, bambucam settings`, await sampleLatency(page, url, ours)));
      lines.push(summary(`${label}, hls.js defaults`, await sampleLatency(page, url, null)));
    }
    // The page's clock next to the time the chamber simulator drew into the picture on screen.
    await page.evaluate(() => {
      const clock = document.createElement('div');
      clock.style.cssText =
        'position:fixed;top:48px;right:8px;z-index:20;background:#000;color:#ff0;font:20px monospace;padding:4px';
      clock.textContent = `browser clock ${new Date().toISOString().slice(11, 23)} UTC`;
      document.body.append(clock);
    });
    await page.screenshot({ path: join(OUT, 'hls-latency.png') });

    // Segmenter CPU on 10 s of the real 720p30 stream.
    const worker = app.workers.get('x1c')!;
    const units: StreamUnit[] = [];
    const reader = worker.h264.subscribe(
      {
        send: (u, done) => {
          units.push(u);
          done();
        },
        close: () => {},
      },
      { output: 'bench' },
    );
    await sleep(10_000);
    reader.unsubscribe();
    const secs = (units.at(-1)!.timestamp - units[0].timestamp) / 90000;
    const bytes = units.reduce((n, u) => n + u.nals.reduce((m, x) => m + x.length, 0), 0);
    const cpu = segmenterCpu(units, secs);
    lines.push('');
    lines.push(
      `Segmenter CPU (in-process, 720p30 H.264 at ${Math.round((bytes * 8) / secs / 1000)} kbit/s): ` +
        `${Math.round(cpu.usPerSecondOfVideo)} µs per second of video = ${cpu.pctOfCore.toFixed(3)} % of one core`,
    );
    console.log(lines.join('\n'));
  } finally {
    await browser.close();
    await app.stop();
    await stopFleet(fleet);
    await stopRtspsFleet(rtsps);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
