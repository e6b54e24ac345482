import { createServer, type Server, Socket } from 'node:net';
import { jpegSize, readComment } from '../../src/protocol/jpeg';
import { type Gateway, httpGet, httpJson, rtspsSpec, sleep, spec, startGateway, waitFor } from '../helpers';
import { TestWallClient, wallOf, wallUrl } from '../wall-client';

jest.setTimeout(90_000);

interface WallStatus {
  connections: number;
  tiles: number;
  pending_pictures: number;
  pending_bytes: number;
  in_flight_bytes: number;
  viewers: {
    tiles: { printer: string; pending: number; sent: number; dropped: number }[];
    pending_pictures: number;
    pending_bytes: number;
    in_flight_bytes: number;
    buffered_bytes: number;
    in_flight_ms: number;
    pictures_sent: number;
  }[];
}

/**
 * A slow network link: bytes from the gateway reach the client at `bytesPerSecond`. The proxy reads
 * the gateway's side only as fast as it forwards, so the kernel's buffers fill and the gateway's
 * socket stops taking data, as with a browser on a bad Wi-Fi link.
 */
async function slowLink(target: number, bytesPerSecond: number): Promise<{ port: number; close(): void }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = new Socket();
    sockets.add(client).add(upstream);
    upstream.connect(target, '127.0.0.1');
    client.pipe(upstream);
    upstream.pause();
    const tickMs = 50;
    const perTick = Math.max(1, Math.round((bytesPerSecond * tickMs) / 1000));
    const timer = setInterval(() => {
      const n = Math.min(perTick, upstream.readableLength);
      if (n > 0) client.write(upstream.read(n) as Buffer);
      else upstream.read(0); // let the stream fetch more from the kernel, up to its high-water mark
    }, tickMs);
    const end = () => {
      clearInterval(timer);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    close() {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

describe('camera wall over one WebSocket', () => {
  let gw: Gateway | undefined;
  const clients: TestWallClient[] = [];
  const open = async (base: string) => {
    const c = new TestWallClient(wallUrl(base));
    clients.push(c);
    await c.opened;
    await waitFor(() => c.hello, 5000, 'hello');
    return c;
  };
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await gw?.stop();
    gw = undefined;
  });

  test("tiles get the printer's own JPEGs, resized once per frame and width for every viewer, capped, and no encoder starts", async () => {
    gw = await startGateway([spec({ fps: 5 }), spec({ fps: 5 }), spec({ fps: 5 })]);
    const [p1, p2, p3] = gw.fleet.map((p) => p.spec.id);
    const a = await open(gw.base);
    const b = await open(gw.base);
    const hello = a.hello as { version: number; widths: number[]; printers: { id: string; name: string }[] };
    expect(hello.version).toBe(1);
    expect(hello.widths).toEqual([320, 480, 640, 960]);
    expect(hello.printers.map((p) => p.id)).toEqual([p1, p2, p3]);

    a.subscribe({ printer: p1 }, { printer: p2, width: 400 }, { printer: p3, fps: 1 }, { printer: 'nope' });
    b.subscribe({ printer: p2, width: 450 });
    await waitFor(
      () => a.picturesOf(p1).length >= 5 && a.picturesOf(p2).length >= 5 && b.picturesOf(p2).length >= 5,
      20_000,
      'pictures on both connections',
    );
    // An unknown printer is an error message naming it; the connection stays.
    expect(a.errors()).toEqual([
      expect.objectContaining({
        printer: 'nope',
        message: expect.stringMatching(/no printer with id "nope"/),
      }),
    ]);
    // p1: the printer's own frame, byte for byte (the simulator's tag is in it), full size.
    const own = a.picturesOf(p1).at(-1)!;
    expect(readComment(own.jpeg)).toMatch(/^bambucam-sim seq=\d+/);
    expect(jpegSize(own.jpeg)).toEqual({ width: 1280, height: 720 });
    expect(own.receivedAt).toBeGreaterThan(Date.now() - 60_000);
    // p2: both viewers asked for about 400-450 px: one 480 px picture per frame, the same bytes for both.
    for (const pic of [...a.picturesOf(p2), ...b.picturesOf(p2)])
      expect(jpegSize(pic.jpeg)).toEqual({ width: 480, height: 270 });
    const bySeq = new Map(a.picturesOf(p2).map((p) => [p.seq, p.jpeg]));
    const common = b.picturesOf(p2).filter((p) => bySeq.has(p.seq));
    expect(common.length).toBeGreaterThan(0);
    for (const p of common) expect(p.jpeg.equals(bySeq.get(p.seq)!)).toBe(true);
    const seqs = new Set([...a.picturesOf(p2), ...b.picturesOf(p2)].map((p) => p.seq));
    const wall = wallOf(gw);
    expect(wall.resizer.resizes).toBeLessThanOrEqual(seqs.size + 2);

    // p3 capped at 1 fps while p1 runs at the printer's 5 fps.
    const n1 = a.picturesOf(p1).length;
    const n3 = a.picturesOf(p3).length;
    await sleep(4000);
    expect(a.picturesOf(p1).length - n1).toBeGreaterThanOrEqual(10);
    expect(a.picturesOf(p3).length - n3).toBeLessThanOrEqual(6);

    // The wall starts no encoder: nobody asked for H.264.
    for (const w of gw.app.workers.values()) {
      expect(w.encoder?.running).toBe(false);
      expect(w.h264.demand).toBe(0);
    }

    // Status: tiles per printer (hub counters plus the wall's own state) and metrics.
    const s2 = await httpJson<{
      viewers: Record<string, number>;
      outputs: Record<string, Record<string, unknown>>;
    }>(`${gw.base}/api/printers/${p2}`);
    expect(s2.viewers.wall).toBe(2);
    expect(s2.outputs.wall).toEqual(
      expect.objectContaining({
        state: 'running',
        viewers: 2,
        connections: 2,
        delivered: expect.any(Number),
      }),
    );
    expect(s2.outputs.wall.pictures_sent as number).toBeGreaterThan(0);
    const metrics = (await httpGet(`${gw.base}/metrics`)).body.toString();
    expect(metrics).toMatch(/^bambucam_wall_connections 2$/m);
    expect(metrics).toMatch(new RegExp(`^bambucam_viewers\\{printer="${p2}",output="wall"\\} 2$`, 'm'));
    expect(metrics).toMatch(new RegExp(`^bambucam_wall_pictures_sent_total\\{printer="${p1}"\\} \\d+$`, 'm'));
    const status = await httpJson<WallStatus>(`${gw.base}/api/wall`);
    expect(status.connections).toBe(2);
    expect(status.tiles).toBe(4);

    // Unsubscribing stops the pictures and releases the hub reader.
    a.unsubscribe([p1]);
    await waitFor(
      () => gw!.app.workers.get(p1)!.hub.outputCounters().wall.viewers === 0,
      5000,
      'p1 released',
    );
    await sleep(300);
    const after = a.picturesOf(p1).length;
    await sleep(1500);
    expect(a.picturesOf(p1).length).toBe(after);
    // Closing a connection releases its tiles.
    await a.close();
    await waitFor(() => gw!.app.workers.get(p2)!.hub.outputCounters().wall.viewers === 1, 5000, 'a closed');
    expect(gw.app.workers.get(p3)!.hub.outputCounters().wall.viewers).toBe(0);
  });

  test('a malformed control message ends that connection only, with the reason', async () => {
    gw = await startGateway([spec({ fps: 5 })]);
    const id = gw.fleet[0].spec.id;
    const good = await open(gw.base);
    const bad = await open(gw.base);
    good.subscribe({ printer: id, width: 320 });
    bad.subscribe({ printer: id });
    await waitFor(() => bad.picturesOf(id).length > 0, 10_000, 'pictures');
    bad.ws.send('not json at all');
    const closed = await bad.closed;
    expect(closed.code).toBe(1008);
    expect(bad.errors().at(-1)?.message).toMatch(/JSON/);
    const before = good.picturesOf(id).length;
    await waitFor(() => good.picturesOf(id).length > before + 2, 10_000, 'the other viewer goes on');
    expect(gw.app.workers.get(id)!.hub.outputCounters().wall.viewers).toBe(1);
    // And an unknown message type, and a bad width, are refused the same way.
    const worse = await open(gw.base);
    worse.send({ type: 'subscribe', tiles: [{ printer: id, width: 'big' }] });
    expect((await worse.closed).code).toBe(1008);
    expect(worse.errors()[0].message).toMatch(/width must be a number/);
  });

  test("an RTSPS printer's tile is the decoder's JPEGs at 1 fps, the decoder stops after its last tile, no encoder", async () => {
    gw = await startGateway([], { rtsps: [rtspsSpec()], config: { idle_stop_s: 2 } });
    const id = gw.rtspsFleet[0].spec.id;
    const worker = gw.app.workers.get(id)!;
    await waitFor(() => worker.status.state === 'streaming', 20_000, 'RTSPS streaming');
    const c = await open(gw.base);
    c.subscribe({ printer: id, fps: 10 });
    await waitFor(() => c.picturesOf(id).length >= 2, 30_000, 'decoded pictures');
    expect(worker.decoder?.running).toBe(true);
    const n0 = c.picturesOf(id).length;
    await sleep(5000);
    // The decoder makes 2 fps (jpeg_fps); a tile gets at most one a second whatever it asks.
    expect(c.picturesOf(id).length - n0).toBeLessThanOrEqual(6);
    expect(jpegSize(c.picturesOf(id).at(-1)!.jpeg)).toEqual({ width: 640, height: 360 });
    c.unsubscribe();
    const left = Date.now();
    await waitFor(() => !worker.decoder?.running, 10_000, 'decoder stopped');
    // idle_stop_s: 2 → the decoder stops about 1 s after its last reader (half the key).
    expect(Date.now() - left).toBeLessThan(2000 + 1500);
  });

  test('a slow viewer is never sent a backlog: at most one pending picture per tile in memory', async () => {
    // Four printers at 10 fps with ~40 KB pictures (~1.6 MB/s) to a viewer reading 8 KB/s.
    gw = await startGateway([spec(), spec(), spec(), spec()], { tuning: { wallStallMs: 120_000 } });
    const ids = gw.fleet.map((p) => p.spec.id);
    const link = await slowLink(gw.app.httpPort, 8 * 1024);
    try {
      const c = new TestWallClient(`ws://127.0.0.1:${link.port}/api/wall`);
      clients.push(c);
      await c.opened;
      c.subscribe(...ids.map((printer) => ({ printer })));
      const wall = wallOf(gw);
      // Wait until the kernel's buffers are full and a picture waits for the socket.
      await waitFor(
        () => (wall.toJSON().viewers as WallStatus['viewers'])[0]?.in_flight_ms > 2000,
        60_000,
        'the socket to stop taking pictures',
      );
      let maxPictures = 0;
      let maxPerTile = 0;
      let maxHeld = 0;
      const frameBytes = Math.max(...ids.map((id) => gw!.app.workers.get(id)!.hub.latest!.jpeg.length));
      const end = Date.now() + 6000;
      while (Date.now() < end) {
        const v = (await httpJson<WallStatus>(`${gw.base}/api/wall`)).viewers[0];
        maxPictures = Math.max(maxPictures, v.pending_pictures);
        maxPerTile = Math.max(maxPerTile, ...v.tiles.map((t) => t.pending));
        maxHeld = Math.max(maxHeld, v.pending_bytes + v.in_flight_bytes + v.buffered_bytes);
        await sleep(200);
      }
      const v = (await httpJson<WallStatus>(`${gw.base}/api/wall`)).viewers[0];
      expect(maxPerTile).toBe(1);
      expect(maxPictures).toBeLessThanOrEqual(ids.length);
      // Everything held for this viewer: one picture per tile plus the one in flight (headers aside).
      expect(maxHeld).toBeLessThanOrEqual((ids.length + 1) * (frameBytes + 1024) * 1.2);
      // Newer pictures replaced older ones: they were dropped, not queued.
      expect(v.tiles.every((t) => t.dropped > 10)).toBe(true);
      const counters = gw.app.workers.get(ids[0])!.hub.outputCounters().wall;
      expect(counters.dropped).toBeGreaterThan(10);
      // The viewer is still being served (slowly), not cut off.
      expect(v.pictures_sent).toBeGreaterThan(0);
    } finally {
      link.close();
    }
  });

  test('with http.users the wall needs the same credentials as every route: Basic or ?token=', async () => {
    const user = { username: 'farm', password: 'pa55-w0rd-farm', token: 'tok-0123456789abcdef' };
    gw = await startGateway([spec({ fps: 5 })], {
      config: { http: { port: 0, host: '127.0.0.1', users: [user] } },
    });
    const id = gw.fleet[0].spec.id;
    const denied = new TestWallClient(wallUrl(gw.base));
    clients.push(denied);
    await expect(denied.opened).rejects.toThrow(/401/);
    const wrong = new TestWallClient(`${wallUrl(gw.base)}?token=nope`);
    clients.push(wrong);
    await expect(wrong.opened).rejects.toThrow(/401/);
    const basic = new TestWallClient(wallUrl(gw.base), {
      headers: {
        Authorization: `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}`,
      },
    });
    const token = new TestWallClient(`${wallUrl(gw.base)}?token=${user.token}`);
    clients.push(basic, token);
    await Promise.all([basic.opened, token.opened]);
    basic.subscribe({ printer: id });
    token.subscribe({ printer: id });
    await waitFor(
      () => basic.picturesOf(id).length > 0 && token.picturesOf(id).length > 0,
      10_000,
      'pictures for both',
    );
  });

  test('idle_stop_s: the encoder behind HLS is gone within the key after the last request', async () => {
    gw = await startGateway([spec({ fps: 5 })], { config: { idle_stop_s: 4 } });
    const id = gw.fleet[0].spec.id;
    const worker = gw.app.workers.get(id)!;
    await waitFor(() => worker.status.state === 'streaming', 10_000, 'streaming');
    const res = await httpGet(`${gw.base}/printers/${id}/hls/index.m3u8`, 30_000);
    expect(res.status).toBe(200);
    const last = Date.now();
    expect(worker.encoder?.running).toBe(true);
    await waitFor(() => !worker.encoder?.running, 15_000, 'the encoder to stop');
    // HLS muxer: 2 s without a request, then the encoder 2 s after the muxer let go: ~4 s, not 4 + 4.
    expect(Date.now() - last).toBeLessThan(4000 + 1500);
    expect(gw.app.hls(id)?.running).toBe(false);
  });
});
