import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { ARTIFACTS, launchBrowser } from '../browser';
import { type Gateway, rtspsSpec, sleep, spec, startGateway, waitFor } from '../helpers';
import { wallOf } from '../wall-client';

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
async function waitForCardVideo(
  page: Page,
  index: number,
  width: number,
  height: number,
  mode = 'hls',
): Promise<void> {
  await page.waitForFunction(
    ([i, w, h, m]) => {
      const card = document.querySelectorAll('bambucam-card')[i as number] as HTMLElement | undefined;
      const video = card?.shadowRoot?.querySelector('video') as
        | (HTMLVideoElement & { firstTime?: number })
        | null;
      if (!video || video.hidden || card?.dataset.mode !== m) return false;
      if (video.firstTime === undefined) video.firstTime = video.currentTime;
      return video.videoWidth === w && video.videoHeight === h && video.currentTime > video.firstTime + 1.5;
    },
    [index, width, height, mode] as const,
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
      // This test is about HLS: the card's WHEP offer gets 503 and it falls back (player-webrtc.test.ts tests WebRTC).
      config: { webrtc: { enabled: false } },
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
    expect(await tryConfig({ type: 'custom:bambucam-card', url: gw.base, mode: 'webrtc' })).toBeNull();
    expect(await tryConfig({ type: 'custom:bambucam-card', url: gw.base, mode: 'tv' })).toMatch(
      /`mode` must be one of auto, webrtc, hls, mjpeg, snapshot, wall/,
    );
    expect(await tryConfig({ type: 'custom:bambucam-card', url: gw.base, mode: 'wall', fps: 0 })).toMatch(
      /`fps` must be a number from 0.1 to 30/,
    );
    expect(
      await tryConfig({ type: 'custom:bambucam-card', url: gw.base, mode: 'wall', resize: 'yes' }),
    ).toMatch(/`resize` must be true or false/);
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

  test('mode: wall shares one WebSocket between cards, starts no encoder, and a tap plays live video until tapped again', async () => {
    gw = await startGateway([spec({ name: 'Garage P1S', fps: 5 }), spec({ name: 'Studio A1', fps: 5 })], {
      rtsps: [rtspsSpec({ name: 'Lab X1C' })],
      config: { idle_stop_s: 2 },
    });
    const h = await startHost(`${gw.base}/bambucam-card.js`);
    host = h.server;
    const page = await browser.newPage({ viewport: { width: 1040, height: 1400 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(h.url);
    await page.waitForFunction(() => (window as unknown as { hostReady?: boolean }).hostReady === true);
    const [a, b] = gw.fleet.map((p) => p.spec.id);
    const x = gw.rtspsFleet[0].spec.id;
    await page.evaluate(
      async ([url, p1, p2, p3]) => {
        const w = window as unknown as { addCard: (c: object) => Promise<void> };
        await w.addCard({ type: 'custom:bambucam-card', url, printer: p1, mode: 'wall', resize: true });
        await w.addCard({ type: 'custom:bambucam-card', url, printer: p2, mode: 'wall', fps: 1 });
        await w.addCard({ type: 'custom:bambucam-card', url, printer: p3, mode: 'wall' });
        // No printer: the gateway's first.
        await w.addCard({ type: 'custom:bambucam-card', url, mode: 'wall', title: 'First', resize: true });
      },
      [gw.base, a, b, x] as const,
    );
    const pictures = () =>
      page.evaluate(() =>
        Array.from(document.querySelectorAll('bambucam-card')).map((c) =>
          Number(c.shadowRoot?.querySelector<HTMLElement>('.view')?.dataset.pictures ?? 0),
        ),
      );
    await waitFor(async () => (await pictures()).every((n) => n >= 2), 60_000, 'every wall card to draw');
    // Four cards, three printers, one connection; the badge comes over it too (no status polling).
    expect(wallOf(gw).totals().connections).toBe(1);
    expect(wallOf(gw).totals().tiles).toBe(3);
    await page.waitForFunction(() =>
      Array.from(document.querySelectorAll('bambucam-card')).every(
        (c) => c.shadowRoot?.querySelector('.badge')?.textContent === 'live',
      ),
    );
    expect(
      await page.evaluate(() =>
        Array.from(document.querySelectorAll('bambucam-card')).map((c) => [
          (c as HTMLElement).dataset.mode,
          c.shadowRoot?.querySelector('.title')?.textContent,
        ]),
      ),
    ).toEqual([
      ['wall', 'Garage P1S'],
      ['wall', 'Studio A1'],
      ['wall', 'Lab X1C'],
      ['wall', 'First'],
    ]);
    // resize: true gets the width bucket above the card's ~480 px (both cards of that printer ask it;
    // one printer's cards share a tile at the widest they want); the others the printer's own size.
    expect(
      await page.evaluate(() =>
        Array.from(document.querySelectorAll('bambucam-card')).map(
          (c) => c.shadowRoot?.querySelector('canvas')?.width,
        ),
      ),
    ).toEqual([480, 1280, 640, 480]);
    const chamber = gw.app.workers.get(a)!;
    expect(chamber.encoder?.running).toBe(false);
    await page.screenshot({ path: join(ARTIFACTS, 'card-wall.png') });

    // A tap plays live video in the card; its wall picture rests meanwhile (the fourth card, which
    // shows the same printer, keeps that printer's one tile going).
    await page.locator('bambucam-card').first().locator('.view').click();
    // Live video is WebRTC first (on by default; the first test plays LL-HLS with it off).
    await waitForCardVideo(page, 0, 1280, 720, 'webrtc');
    expect(chamber.encoder?.running).toBe(true);
    const resting = await pictures();
    await sleep(1500);
    const later = await pictures();
    expect(later[0]).toBe(resting[0]);
    expect(later[3]).toBeGreaterThan(resting[3]);
    expect(chamber.hub.outputCounters().wall.viewers).toBe(1);
    // A second tap goes back to the wall: the player is gone and the encoder stops (idle_stop_s: 2).
    await page.locator('bambucam-card').first().locator('.view').click();
    await page.waitForFunction(
      () => (document.querySelector('bambucam-card') as HTMLElement).dataset.mode === 'wall',
    );
    await waitFor(() => !chamber.encoder?.running, 10_000, 'the encoder to stop');
    await waitFor(async () => (await pictures())[0] > later[0], 10_000, 'the wall picture back');

    // Removed from the dashboard: the cards let go, and the shared socket closes.
    await page.evaluate(() => {
      for (const c of Array.from(document.querySelectorAll('bambucam-card'))) c.remove();
    });
    await waitFor(() => wallOf(gw!).totals().tiles === 0, 5000, 'tiles released');
    await waitFor(() => wallOf(gw!).totals().connections === 0, 15_000, 'the socket to close');
    expect(errors).toEqual([]);
    await page.close();
  });

  test('with http.users, a card with a token plays WebRTC, LL-HLS, MJPEG and the wall; one without says so', async () => {
    const USER = { username: 'ha', password: 'card-pa55-word', token: 'card-token-0123456789' };
    // The host (Home Assistant's origin) first: bambucam lists it in cors_origins.
    let cardUrl = '';
    host = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(hostPage(cardUrl));
    });
    await new Promise<void>((r) => host!.listen(0, '127.0.0.1', r));
    const origin = `http://127.0.0.1:${(host.address() as AddressInfo).port}`;
    gw = await startGateway([spec({ name: 'Garage P1S', fps: 5 })], {
      config: { http: { port: 0, host: '127.0.0.1', users: [USER], cors_origins: [origin] } },
    });
    cardUrl = `${gw.base}/bambucam-card.js`;
    const page = await browser.newPage({ viewport: { width: 1040, height: 1400 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const refused: string[] = [];
    page.on('response', (r) => {
      if (r.status() === 401) refused.push(new URL(r.url()).pathname);
    });
    await page.goto(`${origin}/`);
    await page.waitForFunction(() => (window as unknown as { hostReady?: boolean }).hostReady === true);
    const id = gw.fleet[0].spec.id;
    await page.evaluate(
      async ([url, printer, token]) => {
        const w = window as unknown as { addCard: (c: object) => Promise<void> };
        await w.addCard({ type: 'custom:bambucam-card', url, printer, token });
        await w.addCard({ type: 'custom:bambucam-card', url, printer, token, mode: 'hls' });
        await w.addCard({ type: 'custom:bambucam-card', url, printer, token, mode: 'mjpeg' });
        await w.addCard({ type: 'custom:bambucam-card', url, printer, token, mode: 'wall' });
        await w.addCard({ type: 'custom:bambucam-card', url, printer, mode: 'wall' });
      },
      [gw.base, id, USER.token] as const,
    );
    await waitForCardVideo(page, 0, 1280, 720, 'webrtc');
    await waitForCardVideo(page, 1, 1280, 720, 'hls');
    const shown = () =>
      page.evaluate(() => {
        const cards = Array.from(document.querySelectorAll('bambucam-card'));
        const img = cards[2].shadowRoot?.querySelector('img');
        const wall = (c: Element) =>
          Number(c.shadowRoot?.querySelector<HTMLElement>('.view')?.dataset.pictures ?? 0);
        return { mjpeg: img?.naturalWidth ?? 0, wall: wall(cards[3]), stranger: wall(cards[4]) };
      });
    await waitFor(
      async () => {
        const s = await shown();
        return s.mjpeg === 1280 && s.wall >= 2;
      },
      30_000,
      'the MJPEG and wall cards to draw',
    );
    const badges = await page.evaluate(() =>
      Array.from(document.querySelectorAll('bambucam-card')).map((c) => [
        c.shadowRoot?.querySelector('.badge')?.textContent,
        c.shadowRoot?.querySelector('.note')?.textContent,
      ]),
    );
    expect(badges.slice(0, 4).map(([badge]) => badge)).toEqual(['live', 'live', 'live', 'live']);
    // The card without a token shows nothing of the camera and says what to add.
    expect(badges[4]).toEqual(['locked', expect.stringMatching(/add `token:`/)]);
    expect((await shown()).stranger).toBe(0);
    // Only the tokenless card was refused; the token went along with every request of the others
    // (the browser reports no response for a refused WebSocket: the gateway counts one wall client).
    expect(new Set(refused)).toEqual(new Set([`/api/printers/${id}`]));
    expect(wallOf(gw).totals().connections).toBe(1);
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
