/**
 * Issue 13, findings 5 and 6 on HTTP: resizing cannot be used to burn CPU and memory (never larger
 * than the source, few sizes, a bounded queue answered 503 beyond it), parameters are plain
 * decimals, and a malformed escape in the path is the client's 400, not our 500.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import { rootLogger } from '../../src/log';
import { outputStates, printerStatus } from '../../src/output/printer-api';
import type { PrinterMedia } from '../../src/output/printer-media';
import { createHttpApp } from '../../src/serve/http/server';
import { SnapshotResizer } from '../../src/serve/http/snapshot';
import { captureLogs, type Gateway, httpGet, spec, startGateway, waitFor } from '../helpers';

jest.setTimeout(60_000);

describe('HTTP hardening', () => {
  let gw: Gateway | undefined;
  let extra: Server | undefined;
  afterEach(async () => {
    if (extra) await new Promise((r) => extra?.close(r));
    extra = undefined;
    await gw?.stop();
    gw = undefined;
  });

  test('a malformed escape in the path answers 400 without an ERROR line', async () => {
    const logs = captureLogs('debug');
    try {
      gw = await startGateway([spec({ fps: 5 })]);
      for (const path of [
        '/printers/%ZZ/snapshot.jpg',
        '/printers/%E0%A4%A/stream.mjpeg',
        '/api/printers/%',
      ]) {
        const res = await httpGet(`${gw.base}${path}`);
        expect(res.status).toBe(400);
        expect(JSON.parse(res.body.toString())).toMatchObject({ error: 'bad_request' });
      }
      expect(logs.lines.filter((l) => / ERROR /.test(l))).toEqual([]);
    } finally {
      logs.restore();
    }
  });

  test('size and quality parameters are plain decimals', async () => {
    gw = await startGateway([spec({ fps: 5 })]);
    for (const q of [
      'width=0x100',
      'width=1e3',
      'width=%20100',
      'width=+5',
      'width=100%20',
      'width=100abc',
      'width=1.0',
      'width=-100',
      'width=100&width=200',
      'height=%2B100',
    ]) {
      const bad = await httpGet(`${gw.base}/snapshot.jpg?${q}`);
      expect([q, bad.status]).toEqual([q, 400]);
      expect(JSON.parse(bad.body.toString()).error).toBe('bad_parameter');
    }
    for (const q of ['fps=1e1', 'fps=0x2', 'fps=.5', 'fps=%201']) {
      const bad = await httpGet(`${gw.base}/stream.mjpeg?${q}`);
      expect([q, bad.status]).toEqual([q, 400]);
    }
    expect((await httpGet(`${gw.base}/snapshot.jpg?width=160&quality=50`)).status).toBe(200);
  });

  test('never larger than the source; 40 distinct sizes make a handful of resizes', async () => {
    gw = await startGateway([spec({ fps: 10 })]);
    const g = gw;
    await waitFor(() => g.app.workers.get(g.fleet[0].spec.id)!.hub.latest, 10_000, 'first frame');
    g.fleet[0].camera.stall(true); // one frame for every request below
    const big = await httpGet(`${g.base}/snapshot.jpg?width=3840&height=2160`);
    expect(big.status).toBe(200);
    const meta = await sharp(big.body).metadata();
    expect([meta.width, meta.height]).toEqual([1280, 720]);
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) => httpGet(`${g.base}/snapshot.jpg?width=${300 + i * 23}`)),
    );
    const widths = new Set<number>();
    for (const a of answers) {
      expect(a.status).toBe(200);
      widths.add((await sharp(a.body).metadata()).width ?? 0);
    }
    // 300..1197 snap down to 240, 320, 480, 640, 800, 960.
    expect([...widths].sort((a, b) => a - b)).toEqual([240, 320, 480, 640, 800, 960]);
    const metrics = (await httpGet(`${g.base}/metrics`)).body.toString();
    expect(metrics).toMatch(/^bambucam_snapshot_resizes_total 6$/m);
  });

  test('resizes beyond the queue answer 503 with Retry-After; the queue frees up again', async () => {
    gw = await startGateway([spec({ fps: 10 })]);
    const g = gw;
    await waitFor(() => g.app.workers.get(g.fleet[0].spec.id)!.hub.latest, 10_000, 'first frame');
    // A second HTTP app over the same printers, with a resizer this test can hold busy.
    const resizer = new SnapshotResizer(1, 1);
    const printers = g.app.workers as ReadonlyMap<string, PrinterMedia>;
    const app = createHttpApp({
      printers,
      statusOf: (p) => printerStatus(p, g.app.outputs),
      metrics: { printers: () => printers.values(), outputStates: (id) => outputStates(g.app.outputs, id) },
      log: rootLogger,
      resizer,
    });
    const server = createServer(app);
    extra = server;
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // Hold the only slot and the only place in the queue.
    const gates: (() => void)[] = [];
    const held = [0, 1].map(() => resizer.queue.run(() => new Promise<void>((r) => gates.push(r))));
    const busy = await httpGet(`${base}/snapshot.jpg?width=320`);
    expect(busy.status).toBe(503);
    expect(busy.headers['retry-after']).toBe('1');
    expect(JSON.parse(busy.body.toString()).error).toBe('busy');
    // The original needs no resize and is served meanwhile.
    expect((await httpGet(`${base}/snapshot.jpg`)).status).toBe(200);
    while (gates.length || resizer.queue.running) {
      gates.shift()?.();
      await new Promise((r) => setTimeout(r, 10));
    }
    await Promise.all(held);
    const ok = await httpGet(`${base}/snapshot.jpg?width=320`);
    expect(ok.status).toBe(200);
    expect((await sharp(ok.body).metadata()).width).toBe(320);
    const metrics = (await httpGet(`${base}/metrics`)).body.toString();
    expect(metrics).toMatch(/^bambucam_snapshot_resizes_refused_total 1$/m);
  });
});
