import dgram from 'node:dgram';
import { isIP } from 'node:net';
import type { Browser, Page } from 'playwright-core';
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
          expect(Number(c[3])).toBe(gw.app.webrtc.port);
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
});
