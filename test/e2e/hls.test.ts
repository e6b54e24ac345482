import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Gateway, httpGet, httpJson, rtspsSpec, spec, startGateway, waitFor } from '../helpers';
import { FFPROBE } from '../rtsp-tools';

jest.setTimeout(90_000);

interface HlsJson {
  running: boolean;
  starts: number;
  segments: number;
  bytes: number;
}

function segmentNames(playlist: string): string[] {
  return playlist.split('\n').filter((l) => l && !l.startsWith('#'));
}

/** A request with the path sent byte for byte (no URL normalisation), as an attacker would. */
function rawGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
      let body = '';
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function probeFrames(
  file: string,
): Promise<{ width: number; height: number; frames: number; codec: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      FFPROBE,
      // biome-ignore format: argv pairs
      ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries',
        'stream=codec_name,width,height,nb_read_frames', '-of', 'json', file],
      { timeout: 30_000 },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`ffprobe failed: ${stderr}`));
        const s = JSON.parse(stdout).streams[0];
        resolve({ width: s.width, height: s.height, frames: Number(s.nb_read_frames), codec: s.codec_name });
      },
    );
  });
}

describe('HLS output', () => {
  let gw: Gateway | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'bambucam-hls-test-'));
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('an RTSPS printer: a live playlist with ~1 s keyframe-aligned segments that ffprobe decodes, right headers, CORS', async () => {
    gw = await startGateway([], { rtsps: [rtspsSpec()] });
    const id = gw.rtspsFleet[0].spec.id;
    const first = await httpGet(`${gw.base}/printers/${id}/hls/index.m3u8`, 30_000);
    expect(first.status).toBe(200);
    expect(first.headers['content-type']).toMatch(/^application\/vnd\.apple\.mpegurl/);
    expect(first.headers['cache-control']).toMatch(/no-cache/);
    expect(first.headers['access-control-allow-origin']).toBe('*');
    const text = first.body.toString();
    expect(text).toMatch(/^#EXTM3U\n/);
    expect(text).toMatch(/#EXT-X-TARGETDURATION:1\n/);
    expect(text).toMatch(/#EXT-X-PROGRAM-DATE-TIME:\d{4}-\d\d-\d\dT/);
    expect(text).toContain('#EXT-X-INDEPENDENT-SEGMENTS');
    // Wait for a fuller window, then check every segment's length and content.
    const full = await waitFor(
      async () => {
        const t = (await httpGet(`${gw!.base}/printers/${id}/hls/index.m3u8`)).body.toString();
        return segmentNames(t).length >= 3 ? t : null;
      },
      30_000,
      'three segments',
    );
    const durations = [...full.matchAll(/#EXTINF:([\d.]+),/g)].map((m) => Number(m[1]));
    for (const d of durations) expect(d).toBeCloseTo(1, 1); // the simulator's GOP is 1 s
    const dates = [...full.matchAll(/#EXT-X-PROGRAM-DATE-TIME:(\S+)/g)].map((m) => Date.parse(m[1]));
    for (let i = 1; i < dates.length; i++) expect(dates[i]).toBeGreaterThan(dates[i - 1]);
    const name = segmentNames(full)[0];
    const seg = await httpGet(`${gw.base}/printers/${id}/hls/${name}`);
    expect(seg.status).toBe(200);
    expect(seg.headers['content-type']).toBe('video/mp2t');
    expect(seg.headers['cache-control']).toMatch(/max-age=\d+/);
    expect(seg.headers['access-control-allow-origin']).toBe('*');
    expect(seg.body.length % 188).toBe(0);
    const file = join(dir, 'rtsps.ts');
    writeFileSync(file, seg.body);
    const probed = await probeFrames(file);
    expect(probed).toMatchObject({ codec: 'h264', width: 640, height: 360 });
    expect(probed.frames).toBeGreaterThanOrEqual(25); // 1 s at 30 fps, starting on a keyframe
    // The short alias for the first printer serves the same muxer.
    const alias = await httpGet(`${gw.base}/hls/index.m3u8`);
    expect(alias.status).toBe(200);
    const aliasSeg = segmentNames(alias.body.toString()).at(-1)!;
    expect((await httpGet(`${gw.base}/hls/${aliasSeg}`)).status).toBe(200);
  });

  test('a chamber printer plays through the encoder in ~1 s segments; the whole stream decodes from the playlist in ffmpeg', async () => {
    gw = await startGateway([spec({ fps: 5 })]);
    const id = gw.fleet[0].spec.id;
    const url = `${gw.base}/printers/${id}/hls/index.m3u8`;
    expect((await httpGet(url, 30_000)).status).toBe(200);
    const playlist = await waitFor(
      async () => {
        const t = (await httpGet(url)).body.toString();
        return segmentNames(t).length >= 2 ? t : null;
      },
      30_000,
      'two segments',
    );
    // The encoder makes a keyframe every second, so segments are about 1 s, as for RTSPS printers.
    const durations = [...playlist.matchAll(/#EXTINF:([\d.]+),/g)].map((m) => Number(m[1]));
    for (const d of durations) expect(d).toBeCloseTo(1, 1);
    const out = join(dir, 'chamber.ts');
    await new Promise<void>((resolve, reject) =>
      execFile(
        FFPROBE.replace(/ffprobe$/, 'ffmpeg'),
        ['-v', 'error', '-y', '-i', url, '-t', '3', '-c', 'copy', out],
        { timeout: 30_000 },
        (err, _o, stderr) => (err ? reject(new Error(stderr)) : resolve()),
      ),
    );
    const probed = await probeFrames(out);
    expect(probed).toMatchObject({ codec: 'h264', width: 1280, height: 720 });
    expect(probed.frames).toBeGreaterThanOrEqual(10);
  });

  test('LL-HLS: parts listed with a preload hint; blocking playlist reload and a blocking hinted part', async () => {
    gw = await startGateway([], { rtsps: [rtspsSpec()] });
    const id = gw.rtspsFleet[0].spec.id;
    const url = `${gw.base}/printers/${id}/hls/index.m3u8`;
    const text = (await httpGet(url, 30_000)).body.toString();
    expect(text).toMatch(/#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=[\d.]+\n/);
    expect(text).toMatch(/#EXT-X-PART-INF:PART-TARGET=0\.3\d*\n/); // 9 pictures at 30 fps
    expect(text).toMatch(/#EXT-X-PART:DURATION=[\d.]+,URI="seg\d+\.0\.ts",INDEPENDENT=YES\n/);
    const hint = /#EXT-X-PRELOAD-HINT:TYPE=PART,URI="seg(\d+)\.(\d+)\.ts"/.exec(text)!;
    const [msn, part] = [Number(hint[1]), Number(hint[2])];
    // The hinted part does not exist yet: its request waits for it and gets it.
    const [hinted, blocked] = await Promise.all([
      httpGet(`${gw.base}/printers/${id}/hls/seg${msn}.${part}.ts`),
      // Asking for the playlist that contains that part waits until it does.
      httpGet(`${url}?_HLS_msn=${msn}&_HLS_part=${part}`),
    ]);
    expect(hinted.status).toBe(200);
    expect(hinted.headers['content-type']).toBe('video/mp2t');
    expect(hinted.body.length % 188).toBe(0);
    expect(blocked.status).toBe(200);
    expect(blocked.body.toString()).toContain(`URI="seg${msn}.${part}.ts"`);
    // A part that is neither held nor next is a 404 at once.
    expect((await httpGet(`${gw.base}/printers/${id}/hls/seg${msn + 50}.0.ts`)).status).toBe(404);
  });

  test('segment names cannot escape: traversal, encoded traversal and unknown names are 404', async () => {
    gw = await startGateway([], { rtsps: [rtspsSpec()] });
    const id = gw.rtspsFleet[0].spec.id;
    expect((await httpGet(`${gw.base}/printers/${id}/hls/index.m3u8`, 30_000)).status).toBe(200);
    const port = gw.app.httpPort;
    for (const path of [
      `/printers/${id}/hls/../../../package.json`,
      `/printers/${id}/hls/..%2f..%2f..%2fpackage.json`,
      `/printers/${id}/hls/%2e%2e%2f%2e%2e%2fetc%2fpasswd`,
      `/printers/${id}/hls/seg0.ts%00.m3u8`,
      `/printers/${id}/hls/seg-1.ts`,
      `/printers/${id}/hls/seg999999.ts`,
      `/printers/${id}/hls/seg1.99999.ts`,
      `/printers/${id}/hls/seg1..ts`,
      `/printers/${id}/hls/index.m3u8.bak`,
      '/hls/..%2f..%2fpackage.json',
    ]) {
      const res = await rawGet(port, path);
      expect({ path, status: res.status }).toEqual({ path, status: 404 });
      expect(res.body).not.toContain('"name": "bambucam"');
    }
  });

  test('ten concurrent viewers share one muxer and one upstream connection; it stops when idle and frees its segments', async () => {
    gw = await startGateway([], { rtsps: [rtspsSpec()], tuning: { hlsIdleStopMs: 1500 } });
    const id = gw.rtspsFleet[0].spec.id;
    const worker = gw.app.workers.get(id)!;
    const url = `${gw.base}/printers/${id}/hls/index.m3u8`;
    // Ten players start together and each follows the playlist and fetches new segments.
    const fetched = new Set<string>();
    const players = Array.from({ length: 10 }, async () => {
      let count = 0;
      const seen = new Set<string>();
      while (count < 3) {
        const res = await httpGet(url, 30_000);
        expect(res.status).toBe(200);
        for (const name of segmentNames(res.body.toString())) {
          if (seen.has(name)) continue;
          seen.add(name);
          const seg = await httpGet(`${gw!.base}/printers/${id}/hls/${name}`);
          if (seg.status === 200) {
            count++;
            fetched.add(name);
          }
        }
        await new Promise((r) => setTimeout(r, 300));
      }
    });
    await Promise.all(players);
    expect(fetched.size).toBeGreaterThanOrEqual(3);
    const status = await httpJson<{ hls: HlsJson; upstream_connections_opened: number }>(
      `${gw.base}/api/printers/${id}`,
    );
    expect(status.hls).toMatchObject({ running: true, starts: 1 });
    expect(status.upstream_connections_opened).toBe(1);
    expect(gw.rtspsFleet[0].camera.stats.connections).toBe(1);
    expect(worker.h264.outputCounters().hls.viewers).toBe(1);
    // Nobody asks any more: the muxer stops, lets go of the stream and holds no segments.
    await waitFor(() => !gw!.app.hls(id)!.running, 15_000, 'the HLS muxer to stop when idle');
    expect(gw!.app.hls(id)!.toJSON()).toMatchObject({ running: false, segments: 0, bytes: 0 });
    expect(worker.h264.outputCounters().hls.viewers).toBe(0);
    expect(worker.h264.demand).toBe(0);
    // A new request starts it again, with sequence numbers that keep growing.
    const again = (await httpGet(url, 30_000)).body.toString();
    const seqs = segmentNames(again).map((n) => Number(/\d+/.exec(n)![0]));
    const before = Math.max(...[...fetched].map((n) => Number(/\d+/.exec(n)![0])));
    expect(Math.min(...seqs)).toBeGreaterThan(before);
    expect(gw!.app.hls(id)!.starts).toBe(2);
  });

  test('the chamber encoder starts for HLS and stops after the muxer goes idle', async () => {
    gw = await startGateway([spec({ fps: 5 })], { tuning: { hlsIdleStopMs: 1000, idleStopMs: 500 } });
    const id = gw.fleet[0].spec.id;
    const worker = gw.app.workers.get(id)!;
    expect(worker.encoder?.running).toBe(false);
    expect((await httpGet(`${gw.base}/printers/${id}/hls/index.m3u8`, 30_000)).status).toBe(200);
    expect(worker.encoder?.running).toBe(true);
    await waitFor(() => !gw!.app.hls(id)!.running, 15_000, 'the HLS muxer to stop');
    await waitFor(() => !worker.encoder?.running, 15_000, 'the encoder to stop');
    expect(gw.fleet[0].camera.stats.tcpConnections).toBe(1);
  });

  test('a chamber printer without ffmpeg answers 503 with the reason at once', async () => {
    gw = await startGateway([spec({ fps: 5 })], { ffmpegPath: null });
    const id = gw.fleet[0].spec.id;
    const res = await httpGet(`${gw.base}/printers/${id}/hls/index.m3u8`);
    expect(res.status).toBe(503);
    expect(res.headers['access-control-allow-origin']).toBe('*');
    expect(JSON.parse(res.body.toString())).toMatchObject({ error: 'hls_unavailable' });
    expect(res.body.toString()).toMatch(/ffmpeg/);
  });
});
