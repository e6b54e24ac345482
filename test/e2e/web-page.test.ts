import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { ARTIFACTS, launchBrowser } from '../browser';
import { type Gateway, spec, startGateway } from '../helpers';

describe('web page in a real browser', () => {
  let gw: Gateway;
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => browser?.close());
  afterEach(async () => gw?.stop());

  test('shows every printer live with its state, and a printer with a wrong code says so', async () => {
    gw = await startGateway([spec({ name: 'Garage P1S', fps: 5 }), spec({ name: 'Studio A1', fps: 5 })], {
      entry: (p) => (p.spec.name === 'Studio A1' ? { access_code: 'wrongcode' } : {}),
    });
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${gw.base}/`);
    const live = page.locator('article.tile', { hasText: 'Garage P1S' });
    const broken = page.locator('article.tile', { hasText: 'Studio A1' });
    await live.locator('.badge', { hasText: 'live' }).waitFor({ timeout: 15_000 });
    await broken.locator('.badge', { hasText: 'wrong access code' }).waitFor({ timeout: 15_000 });
    // The MJPEG picture is really painted: the <img> decoded a 1280x720 frame.
    await page.waitForFunction(
      () => {
        const img = document.querySelector<HTMLImageElement>('article.tile img.picture');
        return img !== null && img.naturalWidth === 1280 && img.naturalHeight === 720;
      },
      undefined,
      { timeout: 15_000 },
    );
    await page.waitForFunction(
      () => document.querySelector('#summary')?.textContent === '1 of 2 printers live',
    );
    await page.screenshot({ path: join(ARTIFACTS, 'web-page.png') });
    await page.close();
  });
});
