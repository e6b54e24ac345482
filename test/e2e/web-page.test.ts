import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { ARTIFACTS, launchBrowser } from '../browser';
import { type Gateway, rtspsSpec, spec, startGateway, waitFor } from '../helpers';

jest.setTimeout(120_000);

/** Waits until the full view's <video> plays: currentTime advances past 1.5 s and its size is known. */
async function waitForFullVideo(page: Page, width: number, height: number, mode = 'hls'): Promise<void> {
  await page.waitForFunction(
    ([w, h, m]) => {
      const full = document.querySelector<HTMLElement>('#full');
      const video = full?.querySelector<HTMLVideoElement & { firstTime?: number }>('video.picture');
      if (!video || video.hidden || full?.hidden || full?.dataset.mode !== m) return false;
      if (video.firstTime === undefined) video.firstTime = video.currentTime;
      return video.videoWidth === w && video.videoHeight === h && video.currentTime > video.firstTime + 1.5;
    },
    [width, height, mode] as const,
    { timeout: 60_000, polling: 250 },
  );
}

/** Waits until a tile has drawn `n` pictures; returns its width as sent by the gateway. */
async function waitForTile(page: Page, name: string, n = 2): Promise<string> {
  const tile = page.locator('article.tile', { hasText: name });
  await tile.waitFor({ timeout: 15_000 });
  await page.waitForFunction(
    ([text, count]) => {
      const t = Array.from(document.querySelectorAll<HTMLElement>('article.tile')).find((e) =>
        e.textContent?.includes(text as string),
      );
      return Number(t?.dataset.pictures ?? 0) >= (count as number);
    },
    [name, n] as const,
    { timeout: 60_000, polling: 250 },
  );
  return (await tile.getAttribute('data-width')) ?? '';
}

describe('web page in a real browser', () => {
  let gw: Gateway | undefined;
  let browser: Awaited<ReturnType<typeof launchBrowser>>;
  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => browser?.close());
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  test('the wall shows a chamber and an RTSPS printer, a wrong code says so, and a click plays HLS', async () => {
    gw = await startGateway([spec({ name: 'Garage P1S', fps: 5 }), spec({ name: 'Studio A1', fps: 5 })], {
      rtsps: [rtspsSpec({ name: 'Lab X1C' })],
      entry: (p) => (p.spec.name === 'Studio A1' ? { access_code: 'wrongcode' } : {}),
      // This test is about HLS; with WebRTC on, the page prefers it (test/e2e/player-webrtc.test.ts).
      config: { webrtc: { enabled: false } },
    });
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(`${gw.base}/`);
    const live = page.locator('article.tile', { hasText: 'Garage P1S' });
    const broken = page.locator('article.tile', { hasText: 'Studio A1' });
    await live.locator('.badge', { hasText: 'live' }).waitFor({ timeout: 15_000 });
    await broken.locator('.badge', { hasText: 'wrong access code' }).waitFor({ timeout: 15_000 });
    // Both live printers' tiles draw pictures: the printer's own JPEGs and the X1C decoder's, at
    // their own size (the browser scales them; the gateway resizes nothing).
    expect(await waitForTile(page, 'Garage P1S')).toBe('1280');
    expect(await waitForTile(page, 'Lab X1C')).toBe('640');
    await page.waitForFunction(
      () => document.querySelector('#summary')?.textContent === '2 of 3 printers live',
    );
    // No encoder for the wall.
    expect(gw.app.workers.get(gw.fleet[0].spec.id)!.encoder?.running).toBe(false);
    await page.screenshot({ path: join(ARTIFACTS, 'web-page.png') });

    // A click opens the full view with live video (LL-HLS), the snapshot as poster.
    await live.locator('.view').click();
    await waitForFullVideo(page, 1280, 720);
    expect(await page.locator('#full .mode').textContent()).toBe('HLS');
    expect(await page.locator('#full .name').textContent()).toBe('Garage P1S');
    expect(await page.locator('#full video').getAttribute('poster')).toMatch(/\/snapshot\.jpg\?t=\d+/);
    await page.screenshot({ path: join(ARTIFACTS, 'web-page-full-view.png') });
    // Full screen: the full view fills the screen.
    await page.locator('#full .full-view').click();
    await page.waitForFunction(() => document.fullscreenElement?.classList.contains('full-view') === true);
    await page.evaluate(() => document.exitFullscreen());
    // Escape closes it; the X1C plays its own H.264.
    await page.keyboard.press('Escape');
    expect(await page.locator('#full').isHidden()).toBe(true);
    await page.locator('article.tile', { hasText: 'Lab X1C' }).locator('.view').click();
    await waitForFullVideo(page, 640, 360);
    await page.locator('#full .close').click();
    await waitFor(async () => page.locator('#full').isHidden(), 5000, 'the full view to close');
    // ?resize=1: each tile at the width bucket above its ~340 px, made once per frame by the gateway.
    await page.goto(`${gw.base}/?resize=1`);
    expect(await waitForTile(page, 'Garage P1S', 3)).toBe('480');
    expect(await waitForTile(page, 'Lab X1C', 3)).toBe('480');
    // Everything came from bambucam itself: no CDN.
    const base = new URL(gw.base).origin;
    expect(
      requests.filter((u) => !u.startsWith(base) && !u.startsWith('blob:') && !u.startsWith('data:')),
    ).toEqual([]);
    expect(requests.some((u) => u.endsWith('/page.js'))).toBe(true);
    await page.close();
  });

  test('with WebRTC on, the full view plays WebRTC and ends its session when closed', async () => {
    gw = await startGateway([spec({ name: 'Garage P1S', fps: 5 })]);
    const id = gw.fleet[0].spec.id;
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${gw.base}/`);
    await waitForTile(page, 'Garage P1S');
    await page.locator('article.tile .view').click();
    await waitForFullVideo(page, 1280, 720, 'webrtc');
    expect(await page.locator('#full .mode').textContent()).toBe('WebRTC');
    const viewers = async () =>
      ((await (await fetch(`${gw!.base}/api/printers/${id}`)).json()) as { viewers: Record<string, number> })
        .viewers.webrtc ?? 0;
    expect(await viewers()).toBe(1);
    await page.keyboard.press('Escape');
    await waitFor(async () => (await viewers()) === 0, 10_000, 'the WHEP session to end');
    await page.close();
  });

  test('the wall needs no ffmpeg, and the full view falls back to MJPEG when HLS fails', async () => {
    gw = await startGateway([spec({ name: 'Garage P1S', fps: 5 })], { ffmpegPath: null });
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${gw.base}/`);
    await waitForTile(page, 'Garage P1S');
    await page.locator('article.tile .view').click();
    await page.waitForFunction(
      () => {
        const full = document.querySelector<HTMLElement>('#full');
        const img = full?.querySelector<HTMLImageElement>('img.picture');
        return (
          full?.dataset.mode === 'mjpeg' &&
          img &&
          !img.hidden &&
          img.naturalWidth === 1280 &&
          img.naturalHeight === 720
        );
      },
      undefined,
      { timeout: 30_000 },
    );
    expect(await page.locator('#full .mode').textContent()).toBe('MJPEG');
    expect(await page.locator('#full .mode').getAttribute('title')).toMatch(/HLS failed/);
    expect(await page.locator('#full video').isHidden()).toBe(true);
    await page.screenshot({ path: join(ARTIFACTS, 'web-page-mjpeg-fallback.png') });
    await page.close();
  });
});
