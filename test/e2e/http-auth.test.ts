/**
 * HTTP authentication (issue 13): with `http.users`, every route but /healthz and the card's code
 * needs Basic, a Bearer token or `?token=`; CORS is closed unless origins are listed; the page works
 * in a real browser with credentials; no password or token reaches a log line.
 */
import { request } from 'node:http';
import type { Browser } from 'playwright-core';
import { launchBrowser } from '../browser';
import { captureLogs, type Gateway, httpGet, spec, startGateway } from '../helpers';

jest.setTimeout(120_000);

const USER = { username: 'farm', password: 'pa55-w0rd-farm', token: 'tok-0123456789abcdef' };

function get(
  url: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      let body = '';
      res.on('data', (c) => {
        body += c;
        // Streams (MJPEG) never end: the head is enough.
        if (body.length > 200_000) res.destroy();
      });
      res.on('close', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.setTimeout(20_000, () => req.destroy(new Error(`timeout: ${url}`)));
    req.on('error', reject);
    req.end();
  });
}

const basic = (u: string, p: string) => ({
  Authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`,
});

describe('HTTP authentication', () => {
  let gw: Gateway | undefined;
  let browser: Browser | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });
  afterAll(async () => browser?.close());

  test('401 without credentials, 200 with Basic, Bearer and ?token=; public health and card', async () => {
    const logs = captureLogs('debug');
    try {
      gw = await startGateway([spec({ fps: 5 })], {
        config: {
          http: { port: 0, host: '127.0.0.1', users: [USER] },
          // Sixteen wrong answers in a row from one address would be slowed down (http-guard.test.ts).
          limits: { failures_before_delay: 100 },
        },
      });
      const id = gw.fleet[0].spec.id;
      const routes = [
        '/',
        '/api/printers',
        `/api/printers/${id}`,
        `/printers/${id}/snapshot.jpg`,
        '/snapshot.jpg',
        `/printers/${id}/hls/index.m3u8`,
        '/metrics',
        '/page.js',
      ];
      for (const path of routes) {
        const none = await get(`${gw.base}${path}`);
        expect({ path, status: none.status }).toEqual({ path, status: 401 });
        expect(none.headers['www-authenticate']).toMatch(/^Basic realm="bambucam"/);
        const wrong = await get(`${gw.base}${path}`, basic(USER.username, 'nope'));
        expect({ path, status: wrong.status }).toEqual({ path, status: 401 });
      }
      for (const path of routes.filter((p) => !p.includes('hls'))) {
        expect({
          path,
          status: (await get(`${gw.base}${path}`, basic(USER.username, USER.password))).status,
        }).toEqual({
          path,
          status: 200,
        });
      }
      const snap = `${gw.base}/printers/${id}/snapshot.jpg`;
      expect((await get(snap, { Authorization: `Bearer ${USER.token}` })).status).toBe(200);
      expect((await get(`${snap}?token=${USER.token}`)).status).toBe(200);
      expect((await get(`${snap}?token=not-the-token-at-all`)).status).toBe(401);
      const mjpeg = await get(`${gw.base}/printers/${id}/stream.mjpeg?token=${USER.token}`);
      expect(mjpeg.status).toBe(200);
      expect(mjpeg.headers['content-type']).toMatch(/multipart\/x-mixed-replace/);
      // Public: the health check and the card's code (no data in either).
      expect((await httpGet(`${gw.base}/healthz`)).status).toBe(200);
      expect((await httpGet(`${gw.base}/bambucam-card.js`)).status).not.toBe(401);

      // An HLS playlist fetched with ?token= hands the token on to its segments and parts.
      const playlist = await get(`${gw.base}/printers/${id}/hls/index.m3u8?token=${USER.token}`);
      expect(playlist.status).toBe(200);
      const uris = playlist.body
        .split('\n')
        .flatMap((l) =>
          l.startsWith('#') ? [...l.matchAll(/URI="([^"]+)"/g)].map((m) => m[1]) : l ? [l] : [],
        );
      expect(uris.length).toBeGreaterThan(0);
      for (const uri of uris) expect(uri).toMatch(new RegExp(`\\?token=${USER.token}$`));
      const seg = uris.find((u) => /^seg\d+\.ts/.test(u)) as string;
      expect((await get(`${gw.base}/printers/${id}/hls/${seg}`)).status).toBe(200);
      expect((await get(`${gw.base}/printers/${id}/hls/${seg.split('?')[0]}`)).status).toBe(401);

      await gw.stop();
      gw = undefined;
      const all = logs.lines.join('\n');
      expect(all).not.toContain(USER.password);
      expect(all).not.toContain(USER.token);
    } finally {
      logs.restore();
    }
  });

  test('CORS: closed with users unless the origin is listed; "*" without users', async () => {
    gw = await startGateway([spec()], {
      config: {
        http: { port: 0, host: '127.0.0.1', users: [USER], cors_origins: ['http://ha.local:8123'] },
      },
    });
    const api = `${gw.base}/api/printers`;
    const auth = basic(USER.username, USER.password);
    const listed = await get(api, { ...auth, Origin: 'http://ha.local:8123' });
    expect(listed.headers['access-control-allow-origin']).toBe('http://ha.local:8123');
    expect(listed.headers.vary).toMatch(/Origin/);
    const stranger = await get(api, { ...auth, Origin: 'http://evil.example' });
    expect(stranger.headers['access-control-allow-origin']).toBeUndefined();
    // A preflight needs no credentials and says which headers the card may send.
    const preflight = await get(
      api,
      {
        Origin: 'http://ha.local:8123',
        'Access-Control-Request-Method': 'GET',
        'Access-Control-Request-Headers': 'authorization',
      },
      'OPTIONS',
    );
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-headers']).toMatch(/Authorization/);
    await gw.stop();

    gw = await startGateway([spec()]);
    const open = await get(`${gw.base}/api/printers`, { Origin: 'http://anywhere.example' });
    expect(open.status).toBe(200);
    expect(open.headers['access-control-allow-origin']).toBe('*');
  });

  test('the web page works in a browser with the user’s credentials, and asks for them without', async () => {
    gw = await startGateway([spec({ name: 'Garage P1S', fps: 5 })], {
      config: { http: { port: 0, host: '127.0.0.1', users: [USER] } },
    });
    browser ??= await launchBrowser();
    const denied = await browser.newPage();
    // Headless Chromium has nobody to ask: the Basic challenge ends the navigation.
    await expect(denied.goto(`${gw.base}/`)).rejects.toThrow(/ERR_INVALID_AUTH_CREDENTIALS/);
    await denied.close();

    const context = await browser.newContext({
      httpCredentials: { username: USER.username, password: USER.password },
    });
    const page = await context.newPage();
    const failed: string[] = [];
    page.on('response', (r) => {
      if (r.status() >= 400) failed.push(`${r.status()} ${r.url()}`);
    });
    await page.goto(`${gw.base}/`);
    await page.locator('.badge', { hasText: 'live' }).first().waitFor({ timeout: 30_000 });
    // A picture arrives, whichever way the page shows it.
    await page.waitForFunction(
      () =>
        Array.from(document.querySelectorAll('img, video, canvas')).some(
          (el) =>
            (el instanceof HTMLImageElement && el.naturalWidth > 0) ||
            (el instanceof HTMLVideoElement && el.videoWidth > 0) ||
            (el instanceof HTMLCanvasElement && el.width > 0 && el.dataset.painted === 'true'),
        ),
      undefined,
      { timeout: 60_000 },
    );
    expect(failed).toEqual([]);
    await context.close();
  });

  test('a notice at start when an output listens beyond loopback without authentication', async () => {
    const logs = captureLogs('info');
    try {
      gw = await startGateway([spec()], { config: { http: { port: 0, host: '0.0.0.0' } } });
      const notice = logs.lines.filter((l) => /without authentication/.test(l));
      expect(notice).toHaveLength(1);
      expect(notice[0]).toMatch(/http on 0\.0\.0\.0:\d+/);
      await gw.stop();
      logs.lines.length = 0;
      gw = await startGateway([spec()], { config: { http: { port: 0, host: '0.0.0.0', users: [USER] } } });
      expect(logs.lines.filter((l) => /without authentication/.test(l))).toEqual([]);
    } finally {
      logs.restore();
    }
  });
});
