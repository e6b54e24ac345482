import { execFile } from 'node:child_process';
import { parseSps } from '../../src/protocol/h264';
import {
  captureLogs,
  type Gateway,
  httpGet,
  httpJson,
  rtspsSpec,
  spec,
  startGateway,
  waitFor,
} from '../helpers';
import { MjpegClient } from '../mjpeg-client';
import { FFPROBE, FfmpegViewer, ffmpegDecode, ffprobe } from '../rtsp-tools';

jest.setTimeout(60_000);

interface PrinterJson {
  id: string;
  source: { state: string; reason: string | null; last_error: string | null };
  viewers: Record<string, number>;
  transcoder: { running: boolean; pid: number | null; restarts: number } | null;
  h264: { width: number | null; height: number | null };
  upstream_connections_opened: number;
}

describe('RTSP output', () => {
  let gw: Gateway | undefined;
  const viewers: FfmpegViewer[] = [];
  afterEach(async () => {
    await Promise.all(viewers.splice(0).map((v) => v.stop()));
    await gw?.stop();
    gw = undefined;
  });

  test('a chamber printer (JPEG only) plays as H.264 1280x720 in ffprobe and ffmpeg', async () => {
    gw = await startGateway([spec({ fps: 2 })], { tuning: { idleStopMs: 500 } });
    const id = gw.fleet[0].spec.id;
    const [video] = await ffprobe(`${gw.rtspBase}/${id}`);
    expect(video).toMatchObject({ codec_name: 'h264', codec_type: 'video', width: 1280, height: 720 });
    expect(video.profile).toMatch(/Baseline/);
    const decoded = await ffmpegDecode(`${gw.rtspBase}/${id}`, 10);
    expect(decoded.frames).toBeGreaterThanOrEqual(10);
    // The encoder stops once nobody watches.
    const worker = gw.app.workers.get(id)!;
    await waitFor(() => !worker.encoder?.running, 15_000, 'the encoder to stop when idle');
    expect(gw.fleet[0].camera.stats.tcpConnections).toBe(1);
  });

  test('a 0.5 fps chamber camera still gives constant-rate H.264 with a keyframe at least every 2 s; the encoder survives SIGKILL', async () => {
    gw = await startGateway([spec({ fps: 0.5 })], { tuning: { ffmpegBackoffMs: [200, 500] } });
    const id = gw.fleet[0].spec.id;
    const url = `${gw.rtspBase}/${id}`;
    const frames = await new Promise<{ key: boolean; pts: number }[]>((resolve, reject) => {
      execFile(
        FFPROBE,
        // biome-ignore format: argv pairs
        ['-v', 'error', '-rtsp_transport', 'tcp', '-read_intervals', '%+6', '-select_streams', 'v', '-show_frames',
          '-show_entries', 'frame=key_frame,pts_time,best_effort_timestamp_time', '-of', 'json', url],
        { timeout: 30_000, maxBuffer: 16 * 1024 * 1024 },
        (err, stdout, stderr) => {
          if (err) return reject(new Error(stderr || err.message));
          const parsed = JSON.parse(stdout) as {
            frames: { key_frame: number; pts_time?: string; best_effort_timestamp_time?: string }[];
          };
          // ffmpeg's RTSP demuxer leaves the very first picture without a timestamp: it is at 0.
          resolve(
            parsed.frames.map((f, i) => ({
              key: f.key_frame === 1,
              pts:
                f.pts_time === undefined && i === 0 ? 0 : Number(f.pts_time ?? f.best_effort_timestamp_time),
            })),
          );
        },
      );
    });
    // 6 s at the default 10 fps: about 60 pictures, though the camera sent about 3.
    expect(frames.length).toBeGreaterThanOrEqual(20);
    const keys = frames.filter((f) => f.key).map((f) => f.pts);
    expect(keys.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < keys.length; i++) expect(keys[i] - keys[i - 1]).toBeLessThanOrEqual(2.05);

    const viewer = new FfmpegViewer(url);
    viewers.push(viewer);
    await waitFor(() => viewer.frames > 5, 20_000, 'the viewer to decode');
    const worker = gw.app.workers.get(id)!;
    const pid = worker.encoder!.process.pid!;
    process.kill(pid, 'SIGKILL');
    await waitFor(() => worker.encoder!.process.restarts === 1, 10_000, 'encoder restart');
    const after = viewer.frames;
    await waitFor(() => viewer.frames > after + 10, 20_000, 'pictures to resume after the encoder restart');
    expect(viewer.running).toBe(true);
  });

  test('a snapshot of an idle RTSPS printer starts the decoder and gets a fresh picture; the decoder stops when idle', async () => {
    gw = await startGateway([], { rtsps: [rtspsSpec()], tuning: { idleStopMs: 1000 } });
    const id = gw.rtspsFleet[0].spec.id;
    const worker = gw.app.workers.get(id)!;
    await waitFor(() => worker.status.state === 'streaming', 15_000, 'streaming');
    expect(worker.decoder!.running).toBe(false);
    const asked = Date.now();
    const snap = await httpGet(`${gw.base}/printers/${id}/snapshot.jpg`);
    expect(snap.status).toBe(200);
    expect(snap.body.subarray(0, 4)).toEqual(Buffer.from([0xff, 0xd8, 0xff, 0xe0]));
    expect(worker.hub.latest!.receivedAt).toBeGreaterThanOrEqual(asked);
    await waitFor(() => !worker.decoder!.running, 10_000, 'the decoder to stop when idle');
    const api = await httpJson<PrinterJson>(`${gw.base}/api/printers/${id}`);
    expect(api.transcoder).toMatchObject({ running: false });
  });

  test('an RTSPS printer is copied (no re-encoding) to rtsp://gw/<id>, one upstream session', async () => {
    gw = await startGateway([], { rtsps: [rtspsSpec()] });
    const sim = gw.rtspsFleet[0];
    const [video] = await ffprobe(`${gw.rtspBase}/${sim.spec.id}`);
    expect(video).toMatchObject({ codec_name: 'h264', width: 640, height: 360 });
    // Same parameter sets as the printer's: nothing was re-encoded.
    const worker = gw.app.workers.get(sim.spec.id)!;
    expect(worker.h264.sps?.equals(sim.camera.stream.sps!)).toBe(true);
    expect(worker.decoder?.running).toBe(false);
    expect(sim.camera.stats.sessionsStarted).toBe(1);
  });

  test('unknown path is 404 and users in config require Digest or Basic credentials', async () => {
    gw = await startGateway([spec({ fps: 2 })], {
      config: { rtsp: { port: 0, host: '127.0.0.1', users: [{ username: 'ha', password: 'rtsp-secret' }] } },
    });
    const id = gw.fleet[0].spec.id;
    await expect(ffprobe(`${gw.rtspBase}/nope`)).rejects.toThrow(/404/);
    await expect(ffprobe(`${gw.rtspBase}/${id}`)).rejects.toThrow(/401/);
    const withCreds = gw.rtspBase.replace('rtsp://', 'rtsp://ha:rtsp-secret@');
    const [video] = await ffprobe(`${withCreds}/${id}`);
    expect(video.codec_name).toBe('h264');
  });

  test('native RTSPS re-server: ffmpeg reads /streaming/live/1 with Digest (access code or viewer code)', async () => {
    gw = await startGateway([], { rtsps: [rtspsSpec()], rtspsEntry: () => ({ viewer_code: 'view1234' }) });
    const sim = gw.rtspsFleet[0];
    const port = gw.app.nativeRtsps.get(sim.spec.id)!.port;
    const url = (code: string) => `rtsps://bblp:${code}@127.0.0.1:${port}/streaming/live/1`;
    const [video] = await ffprobe(url(sim.spec.accessCode));
    expect(video).toMatchObject({ codec_name: 'h264', width: 640, height: 360 });
    const decoded = await ffmpegDecode(url('view1234'), 15);
    expect(decoded.frames).toBeGreaterThanOrEqual(15);
    await expect(ffprobe(url('wrong999'))).rejects.toThrow(/401/);
    expect(sim.camera.stats.sessionsStarted).toBe(1);
  });

  test('20 RTSP viewers + MJPEG + snapshots on an RTSPS printer: one printer session; survives ffmpeg SIGKILL and a printer drop', async () => {
    const logs = captureLogs('debug');
    try {
      gw = await startGateway([], {
        rtsps: [rtspsSpec({ maxConnections: 1 })],
        tuning: { ffmpegBackoffMs: [200, 500] },
      });
      const sim = gw.rtspsFleet[0];
      const id = sim.spec.id;
      const url = `${gw.rtspBase}/${id}`;
      for (let i = 0; i < 20; i++) viewers.push(new FfmpegViewer(url));
      const mjpeg = new MjpegClient(`${gw.base}/printers/${id}/stream.mjpeg`);
      const snaps = await Promise.all(
        Array.from({ length: 5 }, () => httpGet(`${gw!.base}/printers/${id}/snapshot.jpg`)),
      );
      for (const s of snaps) {
        expect(s.status).toBe(200);
        expect(s.body.subarray(0, 4)).toEqual(Buffer.from([0xff, 0xd8, 0xff, 0xe0]));
      }
      await mjpeg.waitForParts(3, 20_000);
      await waitFor(() => viewers.every((v) => v.frames >= 30), 30_000, 'every viewer to decode 30 pictures');
      expect(sim.camera.stats.sessionsStarted).toBe(1);
      expect(sim.camera.stats.refused).toBe(0);

      const api = await httpJson<PrinterJson>(`${gw.base}/api/printers/${id}`);
      expect(api.viewers.rtsp).toBe(20);
      expect(api.viewers.mjpeg).toBe(1);
      expect(api.h264).toMatchObject({ width: 640, height: 360 });

      // A viewer joining late decodes at once (it starts on the cached keyframe).
      const late = new FfmpegViewer(url);
      viewers.push(late);
      await waitFor(() => late.frames > 0, 10_000, 'the late viewer to decode');

      // SIGKILL the JPEG decoder: it is restarted, MJPEG continues.
      const worker = gw.app.workers.get(id)!;
      const pid = worker.decoder!.process.pid!;
      process.kill(pid, 'SIGKILL');
      await waitFor(
        () => worker.decoder!.process.pid && worker.decoder!.process.pid !== pid,
        10_000,
        'decoder restart',
      );
      const before = mjpeg.parts.length;
      await waitFor(
        () => mjpeg.parts.length > before + 2,
        15_000,
        'MJPEG to continue after the decoder restart',
      );

      // The printer drops every connection: bambucam reconnects once, viewers stay and pictures resume.
      const counts = viewers.map((v) => v.frames);
      await sim.camera.dropConnections();
      await waitFor(() => sim.camera.stats.sessionsStarted === 2, 15_000, 'one new upstream session');
      await waitFor(
        () => viewers.every((v, i) => v.frames > counts[i] + 30),
        30_000,
        'pictures to resume for every viewer',
      );
      expect(viewers.every((v) => v.running)).toBe(true);
      expect(sim.camera.stats.refused).toBe(0);
      mjpeg.close();
      for (const line of logs.lines) expect(line).not.toContain(sim.spec.accessCode);
    } finally {
      logs.restore();
    }
  });

  test('a wrong access code and LAN Only Liveview off show in the API with the reason', async () => {
    gw = await startGateway([], { rtsps: [rtspsSpec(), rtspsSpec()], tuning: { longBackoffMs: [300] } });
    const [a, b] = gw.rtspsFleet;
    const wa = gw.app.workers.get(a.spec.id)!;
    const wb = gw.app.workers.get(b.spec.id)!;
    await waitFor(
      () => wa.status.state === 'streaming' && wb.status.state === 'streaming',
      15_000,
      'streaming',
    );
    a.camera.setAccessCode('changed0');
    await a.camera.dropConnections();
    await b.camera.setLiveview('port-closed');
    await waitFor(() => wa.status.state === 'auth_failed', 15_000, 'auth_failed');
    await waitFor(() => wb.status.state === 'liveview_off', 15_000, 'liveview_off');
    const apiA = await httpJson<PrinterJson>(`${gw.base}/api/printers/${a.spec.id}`);
    const apiB = await httpJson<PrinterJson>(`${gw.base}/api/printers/${b.spec.id}`);
    // last_error: the state may already be 'connecting' again (short backoff in this test).
    expect(apiA.source.last_error).toMatch(/wrong access code/);
    expect(apiB.source.last_error).toMatch(/refused the connection: LAN Only Liveview is off/);
    expect(JSON.stringify(apiA)).not.toContain(a.spec.accessCode);
    // The other "off" behaviour: the port takes the connection and closes it at once.
    await b.camera.setLiveview('close-at-once');
    await waitFor(
      () => wb.status.state === 'liveview_off' && /closed .*LAN Only Liveview/.test(wb.status.reason ?? ''),
      15_000,
      'liveview_off after a connection closed at once',
    );
    // Liveview back on: streaming resumes without a restart.
    await b.camera.setLiveview('on');
    await waitFor(() => wb.status.state === 'streaming', 15_000, 'streaming again');
  });

  test('keeps the printer session alive past LIVE555 session timeout and handles frozen RTP timestamps', async () => {
    // No rtsps_wallclock: the source notices the frozen timestamps itself.
    gw = await startGateway([], { rtsps: [rtspsSpec({ sessionTimeoutS: 2, frozenTimestamps: true })] });
    const sim = gw.rtspsFleet[0];
    const worker = gw.app.workers.get(sim.spec.id)!;
    await waitFor(() => worker.status.state === 'streaming', 15_000, 'streaming');
    const before = worker.h264.unitsIn;
    await new Promise((r) => setTimeout(r, 5000));
    expect(sim.camera.stats.sessionsExpired).toBe(0);
    expect(sim.camera.stats.sessionsStarted).toBe(1);
    expect(worker.h264.unitsIn).toBeGreaterThan(before + 30);
    const decoded = await ffmpegDecode(`${gw.rtspBase}/${sim.spec.id}`, 20);
    expect(decoded.frames).toBeGreaterThanOrEqual(20);
    expect(parseSps(worker.h264.sps!).width).toBe(640);
    // Timestamps out of bambucam advance although the printer's do not.
    const stamps: number[] = [];
    const reader = worker.h264.subscribe(
      {
        send: (u, done) => {
          stamps.push(u.timestamp);
          done();
        },
        close: () => {},
      },
      { output: 'test' },
    );
    await waitFor(() => stamps.length >= 40, 10_000, '40 pictures');
    reader.unsubscribe();
    const live = stamps.slice(-10); // after the GOP burst
    for (let i = 1; i < live.length; i++) expect((live[i] - live[i - 1]) >>> 0).toBeGreaterThan(0);
  });
});
