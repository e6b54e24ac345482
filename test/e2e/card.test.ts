import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { ARTIFACTS, launchBrowser } from '../browser';
import { type Gateway, rtspsSpec, spec, startGateway, waitFor } from '../helpers';

jest.setTimeout(120_000);

/**
 * A stand-in for Home Assistant's frontend on another origin: it loads the card as a module
 * resource, waits for the custom element, then builds the card as hui-card does:
 * createElement, setConfig, hass, append.
 */
function hostPage(cardUrl: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>HA host</title>
<style>body{background:#111;color:#eee;font:14px sans-serif;margin:0;padding:16px}
#cards{display:grid;grid-template-columns:repeat(2,480px);gap:16px}</style>
<script type="module" src="${cardUrl}"></script></head>
<body><div id="cards"></div>
<script type="module">
  window.addCard = async (config) => {
    await customElements.whenDefined('bambucam-card');
    const el = document.createElement('bambucam-card');
    el.setConfig(config);
    el.hass = { states: {}, language: 'en', themes: {} };
    document.getElementById('cards').append(el);
    return true;
  };
  window.tryConfig = async (config) => {
    await customElements.whenDefined('bambucam-card');
    try { document.createElement('bambucam-card').setConfig(config); return null; }
    catch (err) { return err.message; }
  };
  window.hostReady = true;
</script></body></html>`;
}

async function startHost(cardUrl: string): Promise<{ server: Server; url: string }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(hostPage(cardUrl));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` };
}

/** The n-th card's video plays: its time advances by more than a second and its size is right. */
async function waitForCardVideo(page: Page, index: number, width: number, height: number): Promise<void> {
  await page.waitForFunction(
    ([i, w, h]) => {
      const card = document.querySelectorAll('bambucam-card')[i as number] as HTMLElement | undefined;
      const video = card?.shadowRoot?.querySelector('video') as
        | (HTMLVideoElement & { firstTime?: number })
        | null;
      if (!video || video.hidden || card?.dataset.mode !== 'hls') return false;
      if (video.firstTime === undefined) video.firstTime = video.currentTime;
      return video.videoWidth === w && video.videoHeight === h && video.currentTime > video.firstTime + 1.5;
    },
    [index, width, height] as const,
    { timeout: 60_000, polling: 250 },
  );
}

describe('the Home Assistant card in a real browser', () => {
  let gw: Gateway | undefined;
  let host: Server | undefined;
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => browser?.close());
  afterEach(async () => {
    host?.close();
    host = undefined;
    await gw?.stop();
    gw = undefined;
  });

  test('loaded from another origin like a Lovelace resource, it renders and plays HLS; validates its config', async () => {
    gw = await startGateway([spec({ name: 'Garage P1S', fps: 5 })], {
      rtsps: [rtspsSpec({ name: 'Lab X1C' })],
      tuning: { hlsIdleStopMs: 1500 },
    });
    const h = await startHost(`${gw.base}/bambucam-card.js`);
    host = h.server;
    const page = await browser.newPage({ viewport: { width: 1040, height: 520 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(h.url);
    await page.waitForFunction(() => (window as unknown as { hostReady?: boolean }).hostReady === true);
    const chamberId = gw.fleet[0].spec.id;
    const rtspsId = gw.rtspsFleet[0].spec.id;
    await page.evaluate(
      async ([url, a, b]) => {
        const w = window as unknown as { addCard: (c: object) => Promise<void> };
        await w.addCard({ type: 'custom:bambucam-card', url, printer: a });
        await w.addCard({ type: 'custom:bambucam-card', url, printer: b, mode: 'auto' });
      },
      [gw.base, chamberId, rtspsId] as const,
    );
    await waitForCardVideo(page, 0, 1280, 720);
    await waitForCardVideo(page, 1, 640, 360);
    // The status badge comes from bambucam's API across origins (CORS).
    await page.waitForFunction(() =>
      Array.from(document.querySelectorAll('bambucam-card')).every(
        (c) => c.shadowRoot?.querySelector('.badge')?.textContent === 'live',
      ),
    );
    expect(
      await page.evaluate(() =>
        Array.from(document.querySelectorAll('bambucam-card')).map(
          (c) => c.shadowRoot?.querySelector('.title')?.textContent,
        ),
      ),
    ).toEqual(['Garage P1S', 'Lab X1C']);
    await page.screenshot({ path: join(ARTIFACTS, 'card-hls.png') });

    // The card picker knows it, and the stub config is itself valid.
    const picker = await page.evaluate(() => {
      const w = window as unknown as { customCards?: { type: string }[] };
      const Card = customElements.get('bambucam-card') as unknown as { getStubConfig(): object };
      return { types: w.customCards?.map((c) => c.type), stub: Card.getStubConfig() };
    });
    expect(picker.types).toContain('bambucam-card');
    const tryConfig = (config: unknown) =>
      page.evaluate(
        (c) => (window as unknown as { tryConfig: (c: unknown) => Promise<string | null> }).tryConfig(c),
        config,
      );
    expect(await tryConfig({ type: 'custom:bambucam-card', ...picker.stub })).toBeNull();
    // Bad configurations throw a message that says what to write.
    expect(await tryConfig({ type: 'custom:bambucam-card' })).toMatch(/`url` is required/);
    expect(await tryConfig({ type: 'custom:bambucam-card', url: 'not a url' })).toMatch(/is not a URL/);
    expect(await tryConfig({ type: 'custom:bambucam-card', url: 'ftp://x' })).toMatch(
      /http:\/\/ or https:\/\//,
    );
    expect(await tryConfig({ type: 'custom:bambucam-card', url: gw.base, mode: 'webrtc' })).toMatch(
      /`mode` must be one of auto, hls, mjpeg, snapshot/,
    );
    expect(await tryConfig({ type: 'custom:bambucam-card', url: gw.base, printer: '../x' })).toMatch(
      /`printer` must be a printer id/,
    );
    expect(await tryConfig(null)).toMatch(/must be a mapping/);

    // A hidden tab fetches nothing: the printer's muxer goes idle, and comes back when visible.
    const setHidden = (hidden: boolean) =>
      page.evaluate((h) => {
        Object.defineProperty(document, 'hidden', { value: h, configurable: true });
        Object.defineProperty(document, 'visibilityState', {
          value: h ? 'hidden' : 'visible',
          configurable: true,
        });
        document.dispatchEvent(new Event('visibilitychange'));
      }, hidden);
    await setHidden(true);
    await waitFor(() => !gw!.app.hls(rtspsId)!.running, 20_000, 'the muxer to stop while the tab is hidden');
    await setHidden(false);
    await waitFor(
      () => gw!.app.hls(rtspsId)!.running,
      20_000,
      'the muxer to start again when the tab is visible',
    );
    await page.evaluate(() => {
      const v = document.querySelectorAll('bambucam-card')[1].shadowRoot?.querySelector('video') as
        | (HTMLVideoElement & { firstTime?: number })
        | null;
      if (v) v.firstTime = v.currentTime;
    });
    await waitForCardVideo(page, 1, 640, 360);

    // Removed from the dashboard: everything is torn down and the muxers go idle.
    await page.evaluate(() => {
      for (const c of Array.from(document.querySelectorAll('bambucam-card'))) c.remove();
    });
    for (const w of gw.app.workers.values())
      await waitFor(
        () => !gw!.app.hls(w.id)!.running && w.h264.outputCounters().hls?.viewers === 0,
        20_000,
        'muxers idle',
      );
    expect(errors).toEqual([]);
    await page.close();
  });

  test('mode: mjpeg and mode: snapshot show those, and auto falls back to MJPEG when HLS fails', async () => {
    gw = await startGateway([spec({ name: 'Garage P1S', fps: 5 })], { ffmpegPath: null });
    const h = await startHost(`${gw.base}/bambucam-card.js`);
    host = h.server;
    const page = await browser.newPage({ viewport: { width: 1040, height: 900 } });
    await page.goto(h.url);
    await page.waitForFunction(() => (window as unknown as { hostReady?: boolean }).hostReady === true);
    const id = gw.fleet[0].spec.id;
    await page.evaluate(
      async ([url, p]) => {
        const w = window as unknown as { addCard: (c: object) => Promise<void> };
        await w.addCard({ type: 'custom:bambucam-card', url, printer: p, mode: 'auto', title: 'Auto' });
        await w.addCard({ type: 'custom:bambucam-card', url, printer: p, mode: 'mjpeg' });
        await w.addCard({ type: 'custom:bambucam-card', url, printer: p, mode: 'snapshot' });
      },
      [gw.base, id] as const,
    );
    await page.waitForFunction(
      () => {
        const cards = Array.from(document.querySelectorAll('bambucam-card')) as HTMLElement[];
        const painted = cards.map((c) => {
          const img = c.shadowRoot?.querySelector('img') as HTMLImageElement | null;
          return img !== null && !img.hidden && img.naturalWidth === 1280 && img.naturalHeight === 720;
        });
        return cards.map((c) => c.dataset.mode).join() === 'mjpeg,mjpeg,snapshot' && painted.every(Boolean);
      },
      undefined,
      { timeout: 30_000 },
    );
    const note = await page.evaluate(
      () => document.querySelector('bambucam-card')?.shadowRoot?.querySelector('.note')?.textContent,
    );
    expect(note).toMatch(/HLS failed/);
    await page.screenshot({ path: join(ARTIFACTS, 'card-fallbacks.png') });
    await page.close();
  });
});
