/**
 * Camera wall benchmark (issue 10): N simulated chamber printers at 1 fps with ~160 KB frames
 * (1280×720, JPEG quality 95), the gateway in its own process, the page open in Debian's chromium.
 * For each N it measures the gateway's process tree (bambucam and any ffmpeg child): CPU as % of
 * one core, RSS, TCP connections to the HTTP port, ffmpeg processes — for
 *
 * - idle: no page open (the printers' pictures arriving, the floor);
 * - wall, 1080p screen: the page at 1920×1080 — the tiles on screen receive the printers' own
 *   pictures (the browser scales them), the rest nothing;
 * - wall, all tiles in view: a window tall enough for every tile;
 * - the same two with `?resize=1`: every tile resized by the gateway to its width bucket;
 * - HLS tiles: N players on one page, as the page played every printer before the wall (N ≤ 24).
 *
 * Run: npm run bench:wall   (BENCH_WALL_N=10,24,30,50,100  BENCH_HLS_N=10,24  BENCH_MEASURE_MS,
 * BENCH_WARMUP_MS, BENCH_HLS_WARMUP_MS; BENCH_WALL=0 for the HLS tiles alone)
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser } from '../test/browser';
import { freePort, sleep } from './lib/fanout';
import { cpuBetween, establishedTo, processTree, startChild, treeCpu, treeRssMiB } from './lib/procs';

const WALL_N = (process.env.BENCH_WALL_N ?? '10,24,30,50,100').split(',').map(Number);
const HLS_N = new Set((process.env.BENCH_HLS_N ?? '10,24').split(',').map(Number));
const FPS = Number(process.env.BENCH_FPS ?? 1);
const QUALITY = Number(process.env.BENCH_QUALITY ?? 95);
const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? 10_000);
const MEASURE_MS = Number(process.env.BENCH_MEASURE_MS ?? 20_000);
/** HLS players need their encoders started and a few segments: a longer warm-up. */
const HLS_WARMUP_MS = Number(process.env.BENCH_HLS_WARMUP_MS ?? 25_000);

interface Row {
  n: number;
  scenario: string;
  cpuPct: number;
  rssMiB: number;
  connections: number;
  ffmpeg: number;
  /** Tiles the gateway sends (wall), or players (HLS). */
  tiles: number;
  /** Pictures per second the gateway sent to the wall, and their average size. */
  picturesPerS: number;
  kibPerPicture: number;
}

interface WallTotals {
  tiles: number;
  pictures_sent: number;
  bytes_sent: number;
}

/** GET JSON on a connection of its own that closes at once, so it is not counted as the page's. */
function getJson<T>(url: string): Promise<T> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => {
        try {
          resolve(JSON.parse(body) as T);
        } catch (err) {
          reject(err);
        }
      });
    }).on('error', reject);
  });
}

function wallTotals(base: string): Promise<WallTotals> {
  return getJson<WallTotals>(`${base}/api/wall`);
}

async function allStreaming(base: string, n: number): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const body = await getJson<{ printers: { source: { state: string } }[] }>(`${base}/api/printers`);
    if (body.printers.filter((p) => p.source.state === 'streaming').length === n) return;
    if (Date.now() > deadline) throw new Error(`not all ${n} printers streaming after 120 s`);
    await sleep(500);
  }
}

async function measure(
  n: number,
  scenario: string,
  gatewayPid: number,
  port: number,
  base: string,
  warmupMs: number,
  tiles: () => Promise<number>,
): Promise<Row> {
  await sleep(warmupMs);
  const w0 = await wallTotals(base);
  const cpu0 = treeCpu(gatewayPid);
  const t0 = Date.now();
  let connections = 0;
  let ffmpeg = 0;
  const end = t0 + MEASURE_MS;
  while (Date.now() < end) {
    connections = Math.max(connections, establishedTo(port));
    ffmpeg = Math.max(ffmpeg, [...processTree(gatewayPid).values()].filter((c) => c === 'ffmpeg').length);
    await sleep(500);
  }
  const cpu1 = treeCpu(gatewayPid);
  const secs = (Date.now() - t0) / 1000;
  const w1 = await wallTotals(base);
  const pictures = w1.pictures_sent - w0.pictures_sent;
  return {
    n,
    scenario,
    cpuPct: (cpuBetween(cpu0, cpu1) / secs) * 100,
    rssMiB: treeRssMiB(gatewayPid),
    // The benchmark's own /api/wall and /api/printers requests are not the page's.
    connections,
    ffmpeg,
    tiles: await tiles(),
    picturesPerS: pictures / secs,
    kibPerPicture: pictures ? (w1.bytes_sent - w0.bytes_sent) / pictures / 1024 : 0,
  };
}

/** The wall page at a viewport; waits until every tile in view has drawn a picture. */
async function openWall(
  browser: Browser,
  base: string,
  width: number,
  height: number,
  query = '',
): Promise<Page> {
  const page = await browser.newPage({ viewport: { width, height } });
  await page.goto(`${base}/${query}`);
  await page.waitForFunction(
    () => {
      const tiles = Array.from(document.querySelectorAll<HTMLElement>('article.tile'));
      const seen = tiles.filter((t) => t.dataset.inView === 'true');
      return tiles.length > 0 && seen.length > 0 && seen.every((t) => Number(t.dataset.pictures) > 0);
    },
    undefined,
    { timeout: 120_000, polling: 500 },
  );
  return page;
}

/** Today's HLS tiles before the wall: one CameraPlayer (hls.js, LL-HLS) per printer on one page. */
async function openHlsTiles(browser: Browser, base: string, ids: string[]): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
  page.on('crash', () => console.error('[bench] the HLS tiles page crashed'));
  await page.goto(`${base}/`);
  await page.waitForFunction(() => document.querySelectorAll('article.tile').length > 0);
  await page.evaluate((list) => {
    // biome-ignore lint/suspicious/noExplicitAny: page globals
    const wall = (window as any).bambucamWall;
    wall.client.setPaused(true); // the wall's own tiles get nothing meanwhile
    const grid = document.createElement('div');
    grid.style.cssText =
      'position:fixed;inset:0;z-index:30;background:#000;display:grid;grid-template-columns:repeat(6,1fr);gap:2px';
    document.body.append(grid);
    list.forEach((id, i) => {
      const cell = document.createElement('div');
      cell.style.cssText = 'position:relative;aspect-ratio:16/9';
      grid.append(cell);
      const p = `printers/${id}`;
      // Half a second apart, so the encoders do not all start in the same instant.
      setTimeout(() => {
        new wall.CameraPlayer(cell, {
          urls: { hls: `${p}/hls/index.m3u8`, mjpeg: `${p}/stream.mjpeg`, snapshot: `${p}/snapshot.jpg` },
          mode: 'hls',
          // On a loaded machine a player may need longer than the page's 20 s to start; it would then
          // give up HLS and its encoder would stop. Keep trying: this measures HLS, not its fallback.
          hlsStartTimeoutMs: 600_000,
        }).start();
      }, i * 500);
    });
  }, ids);
  return page;
}

async function runFleet(n: number, browser: Browser, rows: Row[]): Promise<void> {
  const fleet = startChild<{ ports: number[] }>(join(__dirname, 'lib', 'fleet-process.js'), [
    String(n),
    String(FPS),
    String(QUALITY),
  ]);
  const { ports } = await fleet.ready;
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'bambucam-bench-wall-'));
  const config = join(dir, 'bench.yaml');
  const ids = ports.map((_p, i) => `farm-${i + 1}`);
  writeFileSync(
    config,
    [
      `http: { port: ${port}, host: 127.0.0.1 }`,
      'rtsp: { port: 0, host: 127.0.0.1 }',
      `data_dir: ${join(dir, 'data')}`,
      'log: { level: warn }',
      'printers:',
      ...ports.map(
        (p, i) =>
          `  - { id: ${ids[i]}, host: 127.0.0.1, access_code: benchcode, camera: chamber, ports: { chamber: ${p} }, native: { chamber: false, rtsps: false } }`,
      ),
      '',
    ].join('\n'),
  );
  const gateway = startChild<unknown>(join(__dirname, '..', 'src', 'cli.js'), ['run', '--config', config]);
  const base = `http://127.0.0.1:${port}`;
  const pid = gateway.proc.pid!;
  try {
    for (let i = 0; i < 100; i++) {
      if (
        await getJson(`${base}/healthz`).then(
          () => true,
          () => false,
        )
      )
        break;
      await sleep(200);
    }
    await allStreaming(base, n);
    const wallTiles = async () => (await wallTotals(base)).tiles;
    rows.push(await measure(n, 'idle (no page)', pid, port, base, 3000, async () => 0));
    // BENCH_WALL=0: only the HLS tiles (to repeat the slow comparison alone).
    const tall = 260 * Math.ceil(n / 5) + 200;
    const scenarios: [string, number, string][] = [
      ['wall, 1080p screen', 1080, ''],
      ['wall, all tiles in view', tall, ''],
      ['wall, 1080p, resized (?resize=1)', 1080, '?resize=1'],
      ['wall, all in view, resized', tall, '?resize=1'],
    ];
    for (const [name, height, query] of process.env.BENCH_WALL === '0' ? [] : scenarios) {
      const page = await openWall(browser, base, 1920, height, query);
      rows.push(await measure(n, name, pid, port, base, WARMUP_MS, wallTiles));
      await page.close();
      await sleep(1500);
    }
    if (HLS_N.has(n)) {
      const page = await openHlsTiles(browser, base, ids);
      const players = async () =>
        page.evaluate(
          () =>
            Array.from(document.querySelectorAll<HTMLVideoElement>('video')).filter((v) => v.currentTime > 0)
              .length,
        );
      rows.push(await measure(n, 'HLS tiles (before the wall)', pid, port, base, HLS_WARMUP_MS, players));
      await page.close();
    }
  } finally {
    await Promise.all([gateway.stop(), fleet.stop()]);
  }
}

async function main() {
  const browser = await launchBrowser();
  const rows: Row[] = [];
  try {
    for (const n of [...new Set([...WALL_N, ...HLS_N])].sort((a, b) => a - b)) {
      await runFleet(n, browser, rows);
      console.error(`[bench] N=${n} done`);
    }
  } finally {
    await browser.close();
  }
  const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '-');
  console.log(
    `\nCamera wall: chamber printers at ${FPS} fps, 1280×720 JPEG quality ${QUALITY} (~160 KB), ${WARMUP_MS / 1000} s warm-up (HLS ${HLS_WARMUP_MS / 1000} s), ${MEASURE_MS / 1000} s measured; gateway process tree (node ${process.version})`,
  );
  console.log(
    '| printers | page | gateway CPU % of one core | RSS MiB | connections | ffmpeg | tiles sent / players | pictures/s sent | KiB/picture |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const r of rows)
    console.log(
      `| ${r.n} | ${r.scenario} | ${f(r.cpuPct)} | ${f(r.rssMiB, 0)} | ${r.connections} | ${r.ffmpeg} | ${r.tiles} | ${f(r.picturesPerS)} | ${f(r.kibPerPicture)} |`,
    );
  for (const n of HLS_N) {
    const hls = rows.find((r) => r.n === n && r.scenario.startsWith('HLS'));
    const wall = rows.filter((r) => r.n === n && r.scenario.startsWith('wall'));
    if (!hls || !wall.length) continue;
    const ratios = wall
      .map((w) => `${w.scenario}: ${f(hls.cpuPct / Math.max(w.cpuPct, 0.01), 0)}×`)
      .join(', ');
    console.log(`\nN=${n}: HLS tiles use ${f(hls.cpuPct)} % of a core; less CPU with the wall — ${ratios}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
