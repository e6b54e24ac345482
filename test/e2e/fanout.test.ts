import { readComment } from '../../src/protocol/jpeg';
import { parseSimTag } from '../../src/simulator/chamber-camera';
import { type Gateway, httpGet, httpJson, spec, startGateway } from '../helpers';
import { MjpegClient } from '../mjpeg-client';

describe('fan-out: many viewers, one printer connection', () => {
  let gw: Gateway;
  afterEach(async () => gw?.stop());

  test('50 MJPEG viewers and 50 snapshots on two printers; each printer sees exactly one camera connection', async () => {
    gw = await startGateway([spec({ fps: 10 }), spec({ fps: 10 })]);
    const ids = gw.fleet.map((p) => p.spec.id);
    const viewers = Array.from(
      { length: 50 },
      (_, i) => new MjpegClient(`${gw.base}/printers/${ids[i % 2]}/stream.mjpeg`),
    );
    const snapshots = await Promise.all(
      Array.from({ length: 50 }, (_, i) => httpGet(`${gw.base}/printers/${ids[i % 2]}/snapshot.jpg`)),
    );
    await Promise.all(viewers.map((v) => v.waitForParts(5)));

    for (const s of snapshots) {
      expect(s.status).toBe(200);
      expect(s.headers['content-type']).toBe('image/jpeg');
      expect(s.body.subarray(0, 4)).toEqual(Buffer.from([0xff, 0xd8, 0xff, 0xe0]));
    }
    for (const p of gw.fleet) {
      expect(p.camera.stats.tcpConnections).toBe(1);
      expect(p.camera.stats.authAttempts).toBe(1);
      expect(p.camera.stats.peakStreams).toBe(1);
    }
    const api = await httpJson<{
      printers: { id: string; viewers: { mjpeg: number }; upstream_connections_opened: number }[];
    }>(`${gw.base}/api/printers`);
    for (const p of api.printers) {
      expect(p.viewers.mjpeg).toBe(25);
      expect(p.upstream_connections_opened).toBe(1);
    }
    for (const v of viewers) v.close();
  });

  test("viewers receive the printer's JPEG bytes unchanged", async () => {
    gw = await startGateway([spec({ fps: 10 })]);
    const sim = gw.fleet[0].camera;
    const sent = new Map<number, Buffer>();
    const origWrite = (sim as unknown as { send: (s: unknown, j: Buffer) => Promise<void> }).send.bind(sim);
    (sim as unknown as { send: (s: unknown, j: Buffer) => Promise<void> }).send = (s, jpeg) => {
      const tag = parseSimTag(readComment(jpeg));
      if (tag) sent.set(tag.seq, jpeg);
      return origWrite(s, jpeg);
    };
    const viewer = new MjpegClient(`${gw.base}/stream.mjpeg`);
    await viewer.waitForParts(6);
    viewer.close();
    const snap = await httpGet(`${gw.base}/snapshot.jpg`);
    let compared = 0;
    for (const part of [...viewer.parts, { jpeg: snap.body }]) {
      const tag = parseSimTag(readComment(part.jpeg));
      expect(tag).not.toBeNull();
      const original = sent.get(tag!.seq);
      if (!original) continue; // sent before the hook was installed
      expect(part.jpeg.equals(original)).toBe(true);
      compared++;
    }
    expect(compared).toBeGreaterThanOrEqual(5);
  });
});
