import { execFileSync } from 'node:child_process';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { ARTIFACTS, type HideableBrowser, launchHideableBrowser } from '../browser';
import { type Gateway, sleep, spec, startGateway, waitFor } from '../helpers';
import { wallOf } from '../wall-client';

jest.setTimeout(240_000);

const PRINTERS = 30;

/** ffmpeg processes started by this test process (the gateway runs in it). */
function ffmpegChildren(): number {
  try {
    const out = execFileSync('ps', ['--ppid', String(process.pid), '-o', 'comm='], { encoding: 'utf8' });
    return out.split('\n').filter((l) => l.trim() === 'ffmpeg').length;
  } catch {
    return 0; // ps exits 1 when there is no child at all
  }
}

/** Pictures each tile has drawn, by printer id. */
function drawn(page: Page): Promise<Record<string, number>> {
  return page.evaluate(() =>
    Object.fromEntries(
      Array.from(document.querySelectorAll<HTMLElement>('article.tile')).map((t) => [
        t.dataset.printer,
        Number(t.dataset.pictures ?? 0),
      ]),
    ),
  );
}

describe('the camera wall page with 30 printers in a real browser', () => {
  let gw: Gateway;
  let chrome: HideableBrowser;
  let page: Page;
  const open = new Set<Socket>();
  let peak = 0;
  const wallTiles = () => wallOf(gw).totals().tiles;
  const readers = (id: string) => gw.app.workers.get(id)!.hub.outputCounters().wall?.viewers ?? 0;

  beforeAll(async () => {
    // Small pictures at 1 fps, drawn rarely, no native servers: 30 printers on a shared 2-core machine.
    const specs = Array.from({ length: PRINTERS }, () =>
      spec({ fps: 1, width: 320, height: 180, quality: 70, renderFps: 0.5 }),
    );
    gw = await startGateway(specs, {
      entry: () => ({ native: { chamber: false, rtsps: false } }),
      // The full view here is about LL-HLS; web-page.test.ts plays it over WebRTC.
      config: { webrtc: { enabled: false } },
    });
    // Every TCP connection the gateway's HTTP server has open (page loads, fetches, the WebSocket).
    gw.app.httpServer!.on('connection', (s: Socket) => {
      open.add(s);
      peak = Math.max(peak, open.size);
      s.once('close', () => open.delete(s));
    });
    chrome = await launchHideableBrowser();
    page = chrome.page;
    // Tall enough that all 30 tiles (5 per row) are in view.
    await page.setViewportSize({ width: 1600, height: 1500 });
    await page.goto(`${gw.base}/`);
  });
  afterAll(async () => {
    await chrome?.close();
    await gw?.stop();
  });

  test('every tile gets pictures over one connection, and no ffmpeg runs', async () => {
    const ids = gw.fleet.map((p) => p.spec.id);
    await page.waitForFunction(
      (n) => {
        const tiles = Array.from(document.querySelectorAll<HTMLElement>('article.tile'));
        return tiles.length === n && tiles.every((t) => Number(t.dataset.pictures) >= 2);
      },
      PRINTERS,
      { timeout: 90_000, polling: 500 },
    );
    expect(Object.keys(await drawn(page)).sort()).toEqual([...ids].sort());
    await page.waitForFunction(
      () => document.querySelector('#summary')?.textContent === '30 of 30 printers live',
    );
    // The pictures are the printers' own (320 px wide: smaller than any width bucket, so sent as is).
    expect(
      await page.evaluate(() => document.querySelector<HTMLElement>('article.tile')?.dataset.width),
    ).toBe('320');
    await page.screenshot({ path: join(ARTIFACTS, 'wall-30.png') });
    const wall = wallOf(gw).totals();
    expect(wall.connections).toBe(1);
    expect(wall.tiles).toBe(PRINTERS);
    // Idle page-load connections close after the server's keep-alive timeout (5 s); then only the
    // WebSocket is left. The page must hold at most 2 connections, measured over a few seconds.
    await waitFor(() => open.size <= 2, 20_000, 'page-load connections to close');
    let most = 0;
    for (let i = 0; i < 20; i++) {
      most = Math.max(most, open.size);
      await sleep(200);
    }
    expect(most).toBeLessThanOrEqual(2);
    expect(peak).toBeLessThanOrEqual(6);
    // The wall asks for no H.264: no encoder, no ffmpeg process at all.
    for (const w of gw.app.workers.values()) {
      expect(w.encoder?.running).toBe(false);
      expect(w.h264.demand).toBe(0);
    }
    expect(ffmpegChildren()).toBe(0);
  });

  test('a tile scrolled out of view stops receiving; one scrolled into view starts', async () => {
    const first = gw.fleet[0].spec.id;
    const last = gw.fleet[PRINTERS - 1].spec.id;
    await page.setViewportSize({ width: 1600, height: 500 });
    await waitFor(() => readers(last) === 0, 10_000, 'the last row to leave view');
    expect(wallTiles()).toBeLessThan(PRINTERS);
    await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
    await waitFor(
      () => readers(first) === 0 && readers(last) === 1,
      10_000,
      'the first tile out, the last in',
    );
    await sleep(500); // a picture already on the wire may still land
    const before = await drawn(page);
    await sleep(3000);
    const after = await drawn(page);
    expect(after[first]).toBe(before[first]);
    expect(after[last]).toBeGreaterThan(before[last]);
    expect(
      await page.evaluate(
        (id) => document.querySelector<HTMLElement>(`[data-printer="${id}"]`)?.dataset.inView,
        first,
      ),
    ).toBe('false');
  });

  test('a hidden tab receives nothing, and gets pictures again when shown', async () => {
    await chrome.setHidden(true);
    await waitFor(() => wallTiles() === 0, 10_000, 'every tile to unsubscribe');
    await sleep(500);
    const sent0 = wallOf(gw).totals().bytes_sent;
    const got0 = await page.evaluate(
      () => (window as unknown as { bambucamWall: { client: { bytes: number } } }).bambucamWall.client.bytes,
    );
    await sleep(4000);
    expect(wallOf(gw).totals().bytes_sent).toBe(sent0);
    expect(
      await page.evaluate(
        () =>
          (window as unknown as { bambucamWall: { client: { bytes: number } } }).bambucamWall.client.bytes,
      ),
    ).toBe(got0);
    expect(await page.evaluate(() => document.visibilityState)).toBe('hidden');
    await chrome.setHidden(false);
    await waitFor(() => wallTiles() > 0, 10_000, 'tiles back when visible');
    const before = await drawn(page);
    await waitFor(
      async () => {
        const now = await drawn(page);
        return Object.keys(now).some((id) => now[id] > before[id]);
      },
      10_000,
      'pictures again',
    );
  });

  test('a click opens live video; the encoder is gone within 15 s after the full view closes', async () => {
    await page.setViewportSize({ width: 1600, height: 900 });
    await page.evaluate(() => window.scrollTo(0, 0));
    const id = gw.fleet[0].spec.id;
    const worker = gw.app.workers.get(id)!;
    await page.locator(`article.tile[data-printer="${id}"] .view`).click();
    await page.waitForFunction(
      () => {
        const video = document.querySelector<HTMLVideoElement & { firstTime?: number }>('#full video');
        // Live video: WebRTC, or LL-HLS when WebRTC cannot connect (player.ts decides).
        const mode = document.querySelector<HTMLElement>('#full')?.dataset.mode;
        if (!video || video.hidden || (mode !== 'webrtc' && mode !== 'hls')) return false;
        if (video.firstTime === undefined) video.firstTime = video.currentTime;
        return (
          video.videoWidth === 320 && video.videoHeight === 180 && video.currentTime > video.firstTime + 1.5
        );
      },
      undefined,
      { timeout: 60_000, polling: 250 },
    );
    expect(worker.encoder?.running).toBe(true);
    expect(['WebRTC', 'HLS']).toContain(await page.locator('#full .mode').textContent());
    // The full view covers the wall: its tiles get nothing meanwhile.
    expect(wallTiles()).toBe(0);
    await page.screenshot({ path: join(ARTIFACTS, 'wall-full-view.png') });
    await page.locator('#full .close').click();
    const closedAt = Date.now();
    await waitFor(() => !worker.encoder?.running, 15_000, 'the encoder to stop within 15 s');
    const stoppedAfter = Date.now() - closedAt;
    expect(stoppedAfter).toBeLessThanOrEqual(15_000);
    await waitFor(() => ffmpegChildren() === 0, 10_000, 'the ffmpeg process to exit');
    expect(gw.app.hls(id)?.running).toBe(false);
    // Back on the wall.
    expect(await page.locator('#full').isHidden()).toBe(true);
    await waitFor(() => wallTiles() > 0, 10_000, 'the wall to resume');
  });
});
