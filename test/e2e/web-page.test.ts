import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { ARTIFACTS, launchBrowser } from '../browser';
import { type Gateway, rtspsSpec, spec, startGateway } from '../helpers';

jest.setTimeout(120_000);

/** Waits until the tile's <video> plays: currentTime advances past `seconds` and its size is known. */
async function waitForVideo(page: Page, printerName: string, width: number, height: number): Promise<void> {
  await page.waitForFunction(
    ([name, w, h]) => {
      const tile = Array.from(document.querySelectorAll('article.tile')).find((t) =>
        t.textContent?.includes(name as string),
      ) as HTMLElement | undefined;
      const video = tile?.querySelector('video.picture') as HTMLVideoElement | null;
      if (!video || video.hidden || tile?.dataset.mode !== 'hls') return false;
      const w0 = video as HTMLVideoElement & { firstTime?: number };
      if (w0.firstTime === undefined) w0.firstTime = video.currentTime;
      const first = w0.firstTime;
      return video.videoWidth === w && video.videoHeight === h && video.currentTime > first + 1.5;
    },
    [printerName, width, height] as const,
    { timeout: 60_000, polling: 250 },
  );
}

describe('web page in a real browser', () => {
  let gw: Gateway | undefined;
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => browser?.close());
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  test('plays HLS for a chamber and an RTSPS printer, and a printer with a wrong code says so', async () => {
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
    // Both live printers really play H.264 through hls.js: time advances, the size is right.
    await waitForVideo(page, 'Garage P1S', 1280, 720);
    await waitForVideo(page, 'Lab X1C', 640, 360);
    await page.waitForFunction(
      () => document.querySelector('#summary')?.textContent === '2 of 3 printers live',
    );
    expect(await live.locator('.mode').textContent()).toBe('HLS');
    // The snapshot is the poster while the video starts.
    expect(await live.locator('video').getAttribute('poster')).toMatch(/\/snapshot\.jpg\?t=\d+/);
    // Everything came from bambucam itself: no CDN.
    const base = new URL(gw.base).origin;
    expect(
      requests.filter((u) => !u.startsWith(base) && !u.startsWith('blob:') && !u.startsWith('data:')),
    ).toEqual([]);
    expect(requests.some((u) => u.endsWith('/page.js'))).toBe(true);
    await page.screenshot({ path: join(ARTIFACTS, 'web-page.png') });
    // Full screen: the view fills the screen.
    await live.locator('.view').click();
    await page.waitForFunction(() => document.fullscreenElement?.classList.contains('view') === true);
    await page.screenshot({ path: join(ARTIFACTS, 'web-page-fullscreen.png') });
    await page.close();
  });

  test('falls back to MJPEG when HLS fails (a chamber printer and no ffmpeg for H.264)', async () => {
    gw = await startGateway([spec({ name: 'Garage P1S', fps: 5 })], { ffmpegPath: null });
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${gw.base}/`);
    await page.waitForFunction(
      () => {
        const tile = document.querySelector<HTMLElement>('article.tile');
        const img = tile?.querySelector<HTMLImageElement>('img.picture');
        return (
          tile?.dataset.mode === 'mjpeg' &&
          img &&
          !img.hidden &&
          img.naturalWidth === 1280 &&
          img.naturalHeight === 720
        );
      },
      undefined,
      { timeout: 30_000 },
    );
    const tile = page.locator('article.tile');
    expect(await tile.locator('.mode').textContent()).toBe('MJPEG');
    expect(await tile.locator('.mode').getAttribute('title')).toMatch(/HLS failed/);
    expect(await tile.locator('video').isHidden()).toBe(true);
    await page.screenshot({ path: join(ARTIFACTS, 'web-page-mjpeg-fallback.png') });
    await page.close();
  });
});
