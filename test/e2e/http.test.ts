import { createServer } from 'node:net';
import sharp from 'sharp';
import { type Gateway, httpGet, httpJson, spec, startGateway, waitFor } from '../helpers';
import { MjpegClient } from '../mjpeg-client';

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

describe('HTTP', () => {
  let gw: Gateway;
  afterEach(async () => gw?.stop());

  test('unknown printers and routes answer 404 with a JSON reason', async () => {
    gw = await startGateway([spec()]);
    for (const path of [
      '/printers/nope/snapshot.jpg',
      '/printers/nope/stream.mjpeg',
      '/api/printers/nope',
      '/printers/nope/x',
    ]) {
      const res = await httpGet(`${gw.base}${path}`);
      expect(res.status).toBe(404);
      expect(res.headers['content-type']).toMatch(/application\/json/);
      expect(JSON.parse(res.body.toString())).toMatchObject({ error: 'unknown_printer' });
    }
    const other = await httpGet(`${gw.base}/nothing-here`);
    expect(other.status).toBe(404);
    expect(JSON.parse(other.body.toString()).error).toBe('not_found');
  });

  test('snapshot resizing: bounded parameters, computed once per frame for all requests', async () => {
    gw = await startGateway([spec({ fps: 10 })]);
    const sim = gw.fleet[0].camera;
    await waitFor(() => gw.app.workers.get(gw.fleet[0].spec.id)!.hub.latest, 10_000, 'first frame');
    sim.stall(true); // hold one frame still so every request below sees the same one
    const small = await httpGet(`${gw.base}/snapshot.jpg?width=320`);
    expect(small.status).toBe(200);
    const meta = await sharp(small.body).metadata();
    expect([meta.width, meta.height]).toEqual([320, 180]);
    const many = await Promise.all(
      Array.from({ length: 20 }, () => httpGet(`${gw.base}/snapshot.jpg?width=640&quality=50`)),
    );
    expect(new Set(many.map((r) => r.body.toString('base64'))).size).toBe(1);
    const metrics = (await httpGet(`${gw.base}/metrics`)).body.toString();
    expect(metrics).toMatch(/^bambucam_snapshot_resizes_total 2$/m);
    for (const q of ['width=10', 'width=abc', 'height=99999', 'quality=0', 'quality=5.5']) {
      const bad = await httpGet(`${gw.base}/snapshot.jpg?${q}`);
      expect(bad.status).toBe(400);
      expect(JSON.parse(bad.body.toString()).error).toBe('bad_parameter');
    }
  });

  test('a snapshot with no picture yet waits, then answers 503 with the reason', async () => {
    const port = await closedPort();
    gw = await startGateway([spec()], {
      entry: () => ({ ports: { chamber: port } }),
      tuning: { snapshotWaitMs: 800 },
    });
    const res = await httpGet(`${gw.base}/snapshot.jpg`);
    expect(res.status).toBe(503);
    const body = JSON.parse(res.body.toString());
    expect(body.error).toBe('no_frame');
    expect(body.message).toMatch(/connection refused|connecting/);
  });

  test('a snapshot request before the first frame gets that frame', async () => {
    gw = await startGateway([spec({ fps: 2 })]);
    const res = await httpGet(`${gw.base}/printers/${gw.fleet[0].spec.id}/snapshot.jpg`);
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
  });

  test('MJPEG: ?fps= caps one viewer while another gets every frame; bad values are refused', async () => {
    gw = await startGateway([spec({ fps: 20 })]);
    const capped = new MjpegClient(`${gw.base}/stream.mjpeg?fps=2`);
    const full = new MjpegClient(`${gw.base}/stream.mjpeg`);
    await full.waitForParts(40, 15_000);
    const first = capped.parts[0].at;
    const last = capped.parts[capped.parts.length - 1].at;
    const rate = (capped.parts.length - 1) / ((last - first) / 1000);
    expect(rate).toBeLessThanOrEqual(2.5);
    expect(capped.parts.length).toBeGreaterThanOrEqual(2);
    capped.close();
    full.close();
    const bad = await httpGet(`${gw.base}/stream.mjpeg?fps=0`);
    expect(bad.status).toBe(400);
  });

  test('MJPEG headers suit Home Assistant, go2rtc and browsers', async () => {
    gw = await startGateway([spec({ fps: 5 })]);
    const v = new MjpegClient(`${gw.base}/stream.mjpeg`);
    await v.waitForParts(2);
    expect(v.response?.headers['content-type']).toBe('multipart/x-mixed-replace; boundary=bambucam-frame');
    expect(v.response?.headers['cache-control']).toMatch(/no-cache/);
    v.close();
  });

  test('health, metrics and the web page', async () => {
    gw = await startGateway([spec({ fps: 5 })]);
    const id = gw.fleet[0].spec.id;
    await waitFor(
      async () =>
        (await httpJson<{ source: { state: string } }>(`${gw.base}/api/printers/${id}`)).source.state ===
        'streaming',
    );
    expect(await httpJson(`${gw.base}/healthz`)).toEqual({
      ok: true,
      printers: [{ id, state: 'streaming' }],
    });
    const metrics = (await httpGet(`${gw.base}/metrics`)).body.toString();
    expect(metrics).toContain(`bambucam_source_up{printer="${id}"} 1`);
    expect(metrics).toContain(`bambucam_upstream_connections_total{printer="${id}"} 1`);
    const page = await httpGet(`${gw.base}/`);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.body.toString()).toContain('<script src="page.js" defer>');
    // The page's bundle (with hls.js) and the dashboard card are served by bambucam itself.
    const bundle = await httpGet(`${gw.base}/page.js`);
    expect(bundle.status).toBe(200);
    expect(bundle.headers['content-type']).toMatch(/javascript/);
    const card = await httpGet(`${gw.base}/bambucam-card.js`);
    expect(card.status).toBe(200);
    expect(card.headers['content-type']).toMatch(/javascript/);
    expect(card.headers['access-control-allow-origin']).toBe('*');
  });
});
