import dgram from 'node:dgram';
import { readdirSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { WebrtcOutput } from '../../src/webrtc/webrtc-output';
import { launchBrowser } from '../browser';
import { type Gateway, httpJson, rtspsSpec, sleep, spec, startGateway, waitFor } from '../helpers';
import { closePeers, openPeers, type PeerStats, peerStats } from '../whep-page';

jest.setTimeout(180_000);

/** The loopback-only WebRTC configuration every test, demo and benchmark uses. */
const LOOPBACK_WEBRTC = { webrtc: { host: '127.0.0.1', port: 0, candidates: ['127.0.0.1'] } };

const isLoopback = (host: string) =>
  (isIP(host) === 4 && host.startsWith('127.')) || host === '::1' || host.startsWith('::ffff:127.');

/** Every destination address of every UDP datagram this process sends, while installed. */
function recordUdpDestinations(): { destinations: Set<string>; restore: () => void } {
  const destinations = new Set<string>();
  const original = dgram.Socket.prototype.send;
  const spy = jest.spyOn(dgram.Socket.prototype, 'send').mockImplementation(function (
    this: dgram.Socket,
    ...args: unknown[]
  ) {
    // send(msg, port, address[, cb]) or send(msg, offset, length, port, address[, cb])
    const address =
      typeof args[2] === 'string' ? args[2] : typeof args[4] === 'string' ? args[4] : '(connected)';
    destinations.add(address);
    return (original as (...a: unknown[]) => void).apply(this, args);
  });
  return { destinations, restore: () => spy.mockRestore() };
}

/** Wait until every peer has decoded at least `frames` more pictures than in `before` (or than 0). */
async function waitDecoding(
  page: Page,
  frames: number,
  before?: PeerStats[],
  timeoutMs = 60_000,
): Promise<PeerStats[]> {
  return waitFor(
    async () => {
      const stats = await peerStats(page);
      const ok = stats.every((s, i) => s.framesDecoded >= (before?.[i]?.framesDecoded ?? 0) + frames);
      return ok && stats.length > 0 ? stats : null;
    },
    timeoutMs,
    `every peer to decode ${frames} more pictures`,
  );
}

/** ffmpeg processes that are children of this test process, read from /proc. */
function childFfmpegs(): number {
  let n = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (comm === 'ffmpeg' && ppid === process.pid) n++;
    } catch {
      // the process ended while we looked
    }
  }
  return n;
}

interface WebrtcJson {
  state: string;
  peers: number;
  connected: number;
  stalled_peers: number;
  sessions: { id: string; state: string; pictures: number; remote: string | null }[];
}

async function printerJson(gw: Gateway, id: string) {
  return httpJson<{
    viewers: Record<string, number>;
    outputs: Record<string, WebrtcJson>;
    h264: { pictures_in: number; outputs: Record<string, { viewers: number; dropped: number }> };
    urls: Record<string, string>;
  }>(`${gw.base}/api/printers/${id}`);
}

describe('WebRTC output (WHEP) in Chromium', () => {
  let browser: Browser;
  let gw: Gateway | undefined;

  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  test('a chamber printer and an RTSPS printer play at 1280×720; every candidate and every datagram stays on loopback', async () => {
    const udp = recordUdpDestinations();
    try {
      gw = await startGateway([spec({ fps: 5 })], {
        rtsps: [rtspsSpec({ width: 1280, height: 720 })],
        config: LOOPBACK_WEBRTC,
      });
      const page = await browser.newPage();
      await page.goto(`${gw.base}/healthz`);
      for (const id of [gw.fleet[0].spec.id, gw.rtspsFleet[0].spec.id]) {
        const json = await printerJson(gw, id);
        expect(json.urls.whep).toBe(`/printers/${id}/whep`);
        const [opened] = await openPeers(page, `${gw.base}${json.urls.whep}`, 1);
        // The answer announces the configured loopback address only, on the one shared port.
        const candidates = [
          ...opened.answer.matchAll(/^a=candidate:\S+ \d+ (\S+) \d+ (\S+) (\d+) typ host/gm),
        ];
        expect(candidates.length).toBeGreaterThan(0);
        for (const c of candidates) {
          expect(c[1].toLowerCase()).toBe('udp');
          expect(c[2]).toBe('127.0.0.1');
          expect(Number(c[3])).toBe(gw.app.output(WebrtcOutput)!.port);
        }
        expect(opened.answer).toMatch(/^a=ice-lite\r?$/m);
        expect(opened.answer).toMatch(/^a=fmtp:\d+ .*packetization-mode=1/m);
        expect(opened.location).toMatch(new RegExp(`/printers/${id}/whep/[0-9a-f]{32}$`));
      }
      const first = await waitDecoding(page, 10);
      const later = await waitDecoding(page, 10, first);
      for (const s of later) {
        expect(s.state).toBe('connected');
        expect([s.width, s.height]).toEqual([1280, 720]);
        for (const r of s.remotes) expect(isLoopback(r)).toBe(true);
      }
      // The gateway counts each peer as a viewer of the printer's H.264, and lists it.
      for (const id of [gw.fleet[0].spec.id, gw.rtspsFleet[0].spec.id]) {
        const json = await printerJson(gw, id);
        expect(json.viewers.webrtc).toBe(1);
        expect(json.outputs.webrtc).toMatchObject({ state: 'listening', peers: 1, connected: 1 });
        expect(json.outputs.webrtc.sessions[0]).toMatchObject({
          state: 'connected',
          remote: expect.stringMatching(/^127\./),
        });
        expect(json.outputs.webrtc.sessions[0].pictures).toBeGreaterThan(0);
      }
      expect(await closePeers(page)).toEqual([200, 200]);
      await page.close();
      expect(udp.destinations.size).toBeGreaterThan(0);
      for (const d of udp.destinations) expect(isLoopback(d)).toBe(true);
    } finally {
      udp.restore();
    }
  });

  test('10 peers on one chamber printer: one upstream connection, one encoder; it stops after the last peer leaves', async () => {
    gw = await startGateway([spec({ fps: 5 })], { config: LOOPBACK_WEBRTC, tuning: { idleStopMs: 1500 } });
    const printer = gw.fleet[0];
    const worker = gw.app.workers.get(printer.spec.id)!;
    const page = await browser.newPage();
    await page.goto(`${gw.base}/healthz`);
    await openPeers(page, `${gw.base}/printers/${printer.spec.id}/whep`, 10);
    const first = await waitDecoding(page, 5, undefined, 90_000);
    const later = await waitDecoding(page, 5, first, 90_000);
    expect(later).toHaveLength(10);
    for (const s of later) expect([s.state, s.width, s.height]).toEqual(['connected', 1280, 720]);
    const json = await printerJson(gw, printer.spec.id);
    expect(json.viewers.webrtc).toBe(10);
    expect(json.outputs.webrtc).toMatchObject({ peers: 10, connected: 10 });
    // One camera connection to the printer, one encoder process, started once.
    expect(printer.camera.stats.tcpConnections).toBe(1);
    expect(printer.camera.stats.peakStreams).toBe(1);
    expect(worker.encoder!.process.starts).toBe(1);
    expect(childFfmpegs()).toBe(1);

    expect(await closePeers(page)).toEqual(Array(10).fill(200));
    await waitFor(
      async () => (await printerJson(gw!, printer.spec.id)).viewers.webrtc === 0,
      10_000,
      'no webrtc viewers',
    );
    // Nobody wants H.264 any more: the encoder stops after the idle delay.
    await waitFor(() => !worker.encoder!.running, 15_000, 'the encoder to stop');
    await waitFor(() => childFfmpegs() === 0, 15_000, 'the ffmpeg process to exit');
    expect(worker.encoder!.process.starts).toBe(1);
    await page.close();
  });

  test('a frozen tab and a vanished peer do not slow the others; the vanished one is closed as stalled', async () => {
    gw = await startGateway([], {
      rtsps: [rtspsSpec()],
      config: LOOPBACK_WEBRTC,
      tuning: { webrtc: { peerTimeoutMs: 3000 } },
    });
    const id = gw.rtspsFleet[0].spec.id;
    const url = `${gw.base}/printers/${id}/whep`;
    const pages = await Promise.all([browser.newPage(), browser.newPage(), browser.newPage()]);
    for (const p of pages) await p.goto(`${gw.base}/healthz`);
    const [healthy, frozen, vanished] = pages;
    await openPeers(healthy, url, 2);
    await openPeers(frozen, url, 1);
    await openPeers(vanished, url, 1);
    for (const p of pages) await waitDecoding(p, 10);
    const sessionsOf = async () => (await printerJson(gw!, id)).outputs.webrtc.sessions;
    const healthyLocations = await healthy.evaluate(() =>
      // biome-ignore lint/suspicious/noExplicitAny: test globals in the page
      ((window as any).whepPeers as { location: string }[]).map((p) => p.location.split('/').pop()),
    );

    // Freeze one tab (its scripts stop; its peer connection is not closed) and kill another's renderer
    // (its peer vanishes without a word: no DELETE, no DTLS close).
    const cdpFrozen = await frozen.context().newCDPSession(frozen);
    await cdpFrozen.send('Page.setWebLifecycleState', { state: 'frozen' });
    const cdpVanished = await vanished.context().newCDPSession(vanished);
    void cdpVanished.send('Page.crash').catch(() => {});

    const before = await peerStats(healthy);
    const sent = async () =>
      (await sessionsOf()).filter((s) => healthyLocations.includes(s.id)).map((s) => s.pictures);
    const sentBefore = await sent();
    const inBefore = (await printerJson(gw, id)).h264.pictures_in;
    await sleep(6000);
    const inAfter = (await printerJson(gw, id)).h264.pictures_in;
    const sentAfter = await sent();
    // The healthy peers got every picture the printer sent meanwhile, and kept decoding.
    expect(inAfter - inBefore).toBeGreaterThan(60);
    for (const [i, n] of sentAfter.entries())
      expect(n - sentBefore[i]).toBeGreaterThanOrEqual(inAfter - inBefore - 2);
    await waitDecoding(healthy, 60, before);
    // The vanished peer said nothing for peerTimeoutMs: closed and counted as stalled.
    const json = await waitFor(
      async () => {
        const j = await printerJson(gw!, id);
        return j.outputs.webrtc.stalled_peers >= 1 ? j : null;
      },
      20_000,
      'the vanished peer to be closed as stalled',
    );
    expect(json.outputs.webrtc.sessions.map((s) => s.id)).toEqual(expect.arrayContaining(healthyLocations));
    expect(json.h264.outputs.webrtc.viewers).toBe(json.outputs.webrtc.peers);
    await cdpFrozen.send('Page.setWebLifecycleState', { state: 'active' }).catch(() => {});
    await closePeers(healthy);
    await Promise.all(pages.map((p) => p.close().catch(() => {})));
  });
});
