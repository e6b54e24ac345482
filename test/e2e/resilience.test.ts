import type { MalformedKind } from '../../src/simulator/chamber-camera';
import { type Gateway, httpJson, sleep, spec, startGateway, waitFor } from '../helpers';
import { MjpegClient } from '../mjpeg-client';

interface PrinterJson {
  source: { state: string; reason: string | null; last_error: string | null; connections_opened: number };
  outputs: Record<string, { viewers: number; delivered: number; dropped: number; stalled: number }>;
}

const seqOf = (jpeg: Buffer) => Number(/seq=(\d+)/.exec(jpeg.toString('latin1', 0, 200))?.[1]);

describe('resilience', () => {
  let gw: Gateway;
  afterEach(async () => gw?.stop());

  test('a printer drop leaves MJPEG viewers connected, and frames resume after the reconnect', async () => {
    gw = await startGateway([spec({ fps: 10 })]);
    const sim = gw.fleet[0].camera;
    const viewers = [1, 2, 3].map(() => new MjpegClient(`${gw.base}/stream.mjpeg`));
    await Promise.all(viewers.map((v) => v.waitForParts(3)));
    const before = viewers.map((v) => v.parts.length);
    sim.dropAll();
    await waitFor(() => sim.stats.tcpConnections === 2 && sim.stats.activeStreams === 1, 10_000, 'reconnect');
    await Promise.all(viewers.map((v, i) => v.waitForParts(before[i] + 5)));
    for (const v of viewers) {
      expect(v.closed).toBe(false);
      const seqs = v.parts.map((p) => seqOf(p.jpeg));
      expect(Math.max(...seqs)).toBeGreaterThan(seqs[before[0] - 1]);
    }
    // Never two camera connections at once.
    expect(sim.stats.peakStreams).toBe(1);
    const api = await httpJson<PrinterJson>(`${gw.base}/api/printers/${gw.fleet[0].spec.id}`);
    expect(api.source.state).toBe('streaming');
    expect(api.source.connections_opened).toBe(2);
    for (const v of viewers) v.close();
  });

  test('a wrong access code shows as an auth failure and the printer sees only one attempt in the first backoff', async () => {
    gw = await startGateway([spec()], { entry: () => ({ access_code: 'wrongcode' }) });
    const sim = gw.fleet[0].camera;
    const api = await waitFor(
      async () => {
        const p = await httpJson<PrinterJson>(`${gw.base}/api/printers/${gw.fleet[0].spec.id}`);
        return p.source.state === 'auth_failed' ? p : null;
      },
      10_000,
      'auth_failed',
    );
    expect(api.source.reason).toMatch(/wrong access code/);
    await sleep(2000);
    expect(sim.stats.authAttempts).toBe(1);
    expect(sim.stats.authFailures).toBe(1);
  });

  test('a viewer that stops reading neither slows the others nor holds more than two frames, and is dropped', async () => {
    gw = await startGateway([spec({ fps: 30 })], { tuning: { stallTimeoutMs: 4000 } });
    const id = gw.fleet[0].spec.id;
    const hub = gw.app.workers.get(id)!.hub;
    const stuck = new MjpegClient(`${gw.base}/stream.mjpeg`, { paused: true });
    const live = new MjpegClient(`${gw.base}/stream.mjpeg`);
    let maxBacklog = 0;
    let maxFrame = 0;
    const sampler = setInterval(() => {
      for (const sub of hub.subscribers('mjpeg')) maxBacklog = Math.max(maxBacklog, sub.backlogBytes());
      maxFrame = Math.max(maxFrame, hub.latest?.jpeg.length ?? 0);
    }, 20);
    try {
      await live.waitForParts(90, 20_000);
      await waitFor(
        async () => {
          const p = await httpJson<PrinterJson>(`${gw.base}/api/printers/${id}`);
          return p.outputs.mjpeg.stalled === 1 && p.outputs.mjpeg.viewers === 1;
        },
        20_000,
        'stuck viewer dropped',
      );
    } finally {
      clearInterval(sampler);
    }
    // The stuck viewer's queue in this process never exceeded two frames (plus the stream's 16 KiB buffer).
    expect(maxFrame).toBeGreaterThan(10_000);
    expect(maxBacklog).toBeLessThanOrEqual(2 * maxFrame + 16 * 1024);
    const counters = hub.outputCounters().mjpeg;
    expect(counters.dropped).toBeGreaterThan(0);
    // The live viewer kept its pace: it got (nearly) every frame the printer sent.
    const n = live.parts.length;
    await live.waitForParts(n + 10);
    const seqs = live.parts.map((p) => seqOf(p.jpeg));
    const span = seqs[seqs.length - 1] - seqs[0] + 1;
    expect(seqs.length / span).toBeGreaterThan(0.9);
    live.close();
    stuck.close();
  });

  test.each<MalformedKind>(['zero-length', 'oversize', 'not-jpeg', 'truncated'])(
    'a malformed frame (%s) ends that connection cleanly and the source recovers',
    async (kind) => {
      gw = await startGateway([spec({ fps: 10 })]);
      const sim = gw.fleet[0].camera;
      const viewer = new MjpegClient(`${gw.base}/stream.mjpeg`);
      await viewer.waitForParts(2);
      sim.malformNext(kind);
      await waitFor(
        () => sim.stats.tcpConnections === 2 && sim.stats.activeStreams === 1,
        10_000,
        'reconnect',
      );
      const n = viewer.parts.length;
      await viewer.waitForParts(n + 3);
      expect(viewer.closed).toBe(false);
      expect(sim.stats.peakStreams).toBe(1);
      const api = await httpJson<PrinterJson>(`${gw.base}/api/printers/${gw.fleet[0].spec.id}`);
      expect(api.source.last_error).toMatch(kind === 'truncated' ? /middle of a frame/ : /malformed data/);
      viewer.close();
    },
  );

  test('a camera that stops sending is reconnected; MJPEG viewers keep getting the last picture meanwhile', async () => {
    gw = await startGateway([spec({ fps: 10 })], { tuning: { frameTimeoutMs: 1500, mjpegResendMs: 300 } });
    const sim = gw.fleet[0].camera;
    const viewer = new MjpegClient(`${gw.base}/stream.mjpeg`);
    await viewer.waitForParts(2);
    sim.stall(true);
    const n = viewer.parts.length;
    await viewer.waitForParts(n + 3, 5000); // re-sends of the last frame while the camera is silent
    await waitFor(() => sim.stats.tcpConnections >= 2, 10_000, 'reconnect after silence');
    sim.stall(false);
    const api = await httpJson<PrinterJson>(`${gw.base}/api/printers/${gw.fleet[0].spec.id}`);
    expect(api.source.last_error).toMatch(/no picture .* for 1\.5 s/);
    expect(sim.stats.peakStreams).toBe(1);
    viewer.close();
  });
});
