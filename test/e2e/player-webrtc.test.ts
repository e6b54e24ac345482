/**
 * The camera player (web/src/player.ts, used by the page and the card) with WebRTC, on its own host
 * page on another origin (as Home Assistant's is): it prefers WebRTC, ends its WHEP session when
 * hidden or destroyed, and falls back to LL-HLS (auto) or snapshots (webrtc) with the reason shown.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { build } from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser } from '../browser';
import { type Gateway, httpJson, spec, startGateway, waitFor } from '../helpers';

jest.setTimeout(120_000);

const HOST_PAGE = `<!doctype html><html><head><meta charset="utf-8"><script src="/player.js"></script></head>
<body><div id="views"></div><script>
  window.players = [];
  window.makePlayer = (urls, mode, extra) => {
    const view = document.createElement('div');
    view.style.cssText = 'width:320px;height:180px;position:relative';
    document.getElementById('views').append(view);
    const record = { modes: [], player: null };
    record.player = new window.CameraPlayer(view, {
      urls, mode, ...extra,
      onMode: (m, reason) => record.modes.push({ mode: m, reason }),
    });
    record.player.start();
    window.players.push(record);
    return window.players.length - 1;
  };
</script></body></html>`;

async function startHost(): Promise<{ server: Server; url: string }> {
  const bundle = await build({
    stdin: {
      contents: "import { CameraPlayer } from './player'; (window as any).CameraPlayer = CameraPlayer;",
      resolveDir: join(__dirname, '..', '..', 'web', 'src'),
      loader: 'ts',
    },
    bundle: true,
    format: 'iife',
    write: false,
    alias: { 'hls.js': 'hls.js/dist/hls.light.mjs' },
    logLevel: 'warning',
  });
  const js = bundle.outputFiles[0].contents;
  const server = createServer((req, res) => {
    if (req.url === '/player.js') res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(js);
    else res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(HOST_PAGE);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` };
}

type Modes = { mode: string; reason: string | null }[];

function urlsOf(gw: Gateway, id: string) {
  const p = `${gw.base}/printers/${id}`;
  return {
    whep: `${p}/whep`,
    hls: `${p}/hls/index.m3u8`,
    mjpeg: `${p}/stream.mjpeg`,
    snapshot: `${p}/snapshot.jpg`,
  };
}

const modesOf = (page: Page, i: number) =>
  // biome-ignore lint/suspicious/noExplicitAny: page globals
  page.evaluate((n) => (window as any).players[n].modes as Modes, i);

/** The player's video plays: its size is right and its time advances. */
async function waitPlaying(page: Page, i: number, mode: string): Promise<void> {
  await page.waitForFunction(
    ([n, m]) => {
      // biome-ignore lint/suspicious/noExplicitAny: page globals
      const rec = (window as any).players[n as number];
      const v = rec.player.video as HTMLVideoElement & { t0?: number };
      if (rec.player.mode !== m || v.hidden || v.videoWidth !== 1280 || v.videoHeight !== 720) return false;
      if (v.t0 === undefined) v.t0 = v.currentTime;
      return v.currentTime > v.t0 + 1;
    },
    [i, mode] as const,
    { timeout: 60_000, polling: 200 },
  );
}

async function webrtcViewers(gw: Gateway, id: string): Promise<number> {
  return (
    (await httpJson<{ viewers: Record<string, number> }>(`${gw.base}/api/printers/${id}`)).viewers.webrtc ?? 0
  );
}

describe('the camera player with WebRTC', () => {
  let browser: Browser;
  let host: { server: Server; url: string };
  let gw: Gateway | undefined;

  beforeAll(async () => {
    browser = await launchBrowser();
    host = await startHost();
  });
  afterAll(async () => {
    await browser?.close();
    host?.server.close();
  });
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  test('auto plays WebRTC from another origin; hidden, it ends its WHEP session, shown again it makes a new one', async () => {
    gw = await startGateway([spec({ fps: 5 })]);
    const id = gw.fleet[0].spec.id;
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(host.url);
    await page.evaluate(
      (u) => (window as unknown as { makePlayer: (...a: unknown[]) => number }).makePlayer(u, 'auto'),
      urlsOf(gw, id),
    );
    await waitPlaying(page, 0, 'webrtc');
    expect(await modesOf(page, 0)).toEqual([{ mode: 'webrtc', reason: null }]);
    expect(await webrtcViewers(gw, id)).toBe(1);

    // biome-ignore lint/suspicious/noExplicitAny: page globals
    await page.evaluate(() => (window as any).players[0].player.pause());
    await waitFor(
      async () => (await webrtcViewers(gw!, id)) === 0,
      10_000,
      'the session to end while hidden',
    );
    // biome-ignore lint/suspicious/noExplicitAny: page globals
    await page.evaluate(() => (window as any).players[0].player.resume());
    await page.evaluate(() => {
      // biome-ignore lint/suspicious/noExplicitAny: page globals
      (window as any).players[0].player.video.t0 = undefined;
    });
    await waitPlaying(page, 0, 'webrtc');
    expect(await webrtcViewers(gw, id)).toBe(1);

    // biome-ignore lint/suspicious/noExplicitAny: page globals
    await page.evaluate(() => (window as any).players[0].player.destroy());
    await waitFor(async () => (await webrtcViewers(gw!, id)) === 0, 10_000, 'the session to end on destroy');
    expect(errors).toEqual([]);
    await page.close();
  });

  test('auto falls back to LL-HLS when no UDP path reaches the gateway, and says why', async () => {
    // The gateway announces a port nobody listens on: the browser's checks go unanswered.
    gw = await startGateway([spec({ fps: 5 })], {
      config: { webrtc: { host: '127.0.0.1', port: 0, candidates: ['127.0.0.1:9'] } },
    });
    const id = gw.fleet[0].spec.id;
    const page = await browser.newPage();
    await page.goto(host.url);
    await page.evaluate(
      (u) =>
        (window as unknown as { makePlayer: (...a: unknown[]) => number }).makePlayer(u, 'auto', {
          webrtcStartTimeoutMs: 3000,
        }),
      urlsOf(gw, id),
    );
    await waitPlaying(page, 0, 'hls');
    const modes = await modesOf(page, 0);
    expect(modes.map((m) => m.mode)).toEqual(['webrtc', 'hls']);
    expect(modes[1].reason).toMatch(/WebRTC did not start playing \(no UDP path/);
    // The abandoned session was ended on the gateway too.
    await waitFor(async () => (await webrtcViewers(gw!, id)) === 0, 10_000, 'the abandoned session to end');
    await page.close();
  });

  test('with WebRTC turned off: auto plays LL-HLS, mode webrtc shows snapshots; both say why', async () => {
    gw = await startGateway([spec({ fps: 5 })], { config: { webrtc: { enabled: false } } });
    const id = gw.fleet[0].spec.id;
    const page = await browser.newPage();
    await page.goto(host.url);
    const make = (mode: string) =>
      page.evaluate(
        ([u, m]) => (window as unknown as { makePlayer: (...a: unknown[]) => number }).makePlayer(u, m),
        [urlsOf(gw!, id), mode] as const,
      );
    await make('auto');
    await make('webrtc');
    await waitPlaying(page, 0, 'hls');
    expect((await modesOf(page, 0)).at(-1)?.reason).toMatch(/WebRTC unavailable: WebRTC is turned off/);
    await page.waitForFunction(() => {
      // biome-ignore lint/suspicious/noExplicitAny: page globals
      const p = (window as any).players[1].player;
      return p.mode === 'snapshot' && p.img.naturalWidth === 1280;
    });
    expect((await modesOf(page, 1)).map((m) => m.mode)).toEqual(['webrtc', 'snapshot']);
    expect((await modesOf(page, 1))[1].reason).toMatch(/webrtc\.enabled: false/);
    await page.close();
  });
});
