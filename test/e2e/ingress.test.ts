/**
 * The web page behind Home Assistant's ingress: the Supervisor proxies
 * /api/hassio_ingress/<token>/<path> to the add-on's /<path>, and nothing else reaches the add-on.
 * A page that asks for /api/printers or /printers/... at the root would break there.
 */
import { createServer, type IncomingMessage, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Browser } from 'playwright-core';
import { launchBrowser } from '../browser';
import { type Gateway, spec, startGateway } from '../helpers';

jest.setTimeout(120_000);

const PREFIX = '/api/hassio_ingress/Zm9vYmFyYmF6/';

/** A prefix-stripping proxy like the Supervisor's ingress; requests outside the prefix get 404. */
function ingressProxy(target: string, outside: string[]): Promise<Server> {
  const upstream = new URL(target);
  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    if (!url.startsWith(PREFIX)) {
      outside.push(url);
      res.writeHead(404).end('not through ingress');
      return;
    }
    const proxied = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: `/${url.slice(PREFIX.length)}`,
        headers: { ...req.headers, 'x-ingress-path': PREFIX.slice(0, -1) },
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    proxied.on('error', () => res.destroy());
    res.on('close', () => proxied.destroy());
    req.pipe(proxied);
  });
  // The Supervisor's ingress carries WebSockets too (the camera wall): the upgrade, then both ways.
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = req.url ?? '/';
    if (!url.startsWith(PREFIX)) {
      outside.push(url);
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    const up = request({
      host: upstream.hostname,
      port: upstream.port,
      method: req.method,
      path: `/${url.slice(PREFIX.length)}`,
      headers: req.headers,
    });
    up.on('upgrade', (res, upSocket, upHead) => {
      const lines = [`HTTP/1.1 ${res.statusCode} ${res.statusMessage}`];
      for (let i = 0; i < res.rawHeaders.length; i += 2)
        lines.push(`${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}`);
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (upHead.length) socket.write(upHead);
      if (head.length) upSocket.write(head);
      upSocket.pipe(socket).pipe(upSocket);
      const end = () => {
        socket.destroy();
        upSocket.destroy();
      };
      socket.on('error', end).on('close', end);
      upSocket.on('error', end).on('close', end);
    });
    up.on('response', (res) => socket.end(`HTTP/1.1 ${res.statusCode} ${res.statusMessage}\r\n\r\n`));
    up.on('error', () => socket.destroy());
    up.end();
  });
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r(server)));
}

describe('web page through an ingress path prefix', () => {
  let gw: Gateway | undefined;
  let proxy: Server | undefined;
  let browser: Browser | undefined;
  afterAll(async () => {
    await browser?.close();
    proxy?.close();
    await gw?.stop();
  });

  test('the wall, its live video and its links work under the prefix only', async () => {
    gw = await startGateway([spec({ name: 'Garage P1S', fps: 5 })]);
    const outside: string[] = [];
    proxy = await ingressProxy(gw.base, outside);
    const base = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}${PREFIX}`;
    browser = await launchBrowser();
    const page = await browser.newPage();
    await page.goto(base);
    const tile = page.locator('article.tile', { hasText: 'Garage P1S' });
    await tile.locator('.badge', { hasText: 'live' }).waitFor({ timeout: 30_000 });
    // The wall's WebSocket through the prefix: the tile draws pictures.
    await page.waitForFunction(
      () => Number(document.querySelector<HTMLElement>('article.tile')?.dataset.pictures ?? 0) >= 3,
      undefined,
      { timeout: 30_000 },
    );
    // Live video through the prefix in the full view (WHEP first, LL-HLS if WebRTC fails): it advances.
    await tile.locator('.view').click();
    await page.waitForFunction(
      () => {
        const full = document.querySelector<HTMLElement>('#full');
        const video = full?.querySelector('video') as (HTMLVideoElement & { t0?: number }) | null;
        if (!video || !['webrtc', 'hls'].includes(full?.dataset.mode ?? '')) return false;
        video.t0 ??= video.currentTime;
        return video.currentTime > video.t0 + 1;
      },
      undefined,
      { timeout: 60_000, polling: 250 },
    );
    const full = page.locator('#full');
    for (const link of ['snapshot', 'mjpeg', 'hls', 'api']) {
      const href = await full.locator(`a.${link}`).evaluate((a) => (a as HTMLAnchorElement).href);
      expect([link, href.startsWith(base)]).toEqual([link, true]);
    }
    const snapshot = await page.request.get(
      await full.locator('a.snapshot').evaluate((a) => (a as HTMLAnchorElement).href),
    );
    expect(snapshot.headers()['content-type']).toBe('image/jpeg');
    // Chromium asks for the origin's /favicon.ico by itself; the page asked for nothing outside.
    expect(outside.filter((u) => u !== '/favicon.ico')).toEqual([]);
    await page.close();
  });
});
