/**
 * Every output is counted the same way (issue 9): readers of the hubs are counted by the hubs, and
 * every output's state reaches /api/printers and /metrics without code of its own for it.
 */
import { type Gateway, httpGet, httpJson, rtspsSpec, startGateway } from '../helpers';
import { ffmpegDecode } from '../rtsp-tools';

jest.setTimeout(90_000);

interface Status {
  outputs: Record<string, { delivered?: number; viewers?: number; state?: string; listen?: string }>;
  native: Record<string, { state: string; listen?: string; reason?: string }>;
}

async function watchHls(base: string, id: string, segments: number): Promise<void> {
  const seen = new Set<string>();
  while (seen.size < segments) {
    const playlist = await httpGet(`${base}/printers/${id}/hls/index.m3u8`, 30_000);
    expect(playlist.status).toBe(200);
    for (const name of playlist.body.toString().split('\n')) {
      if (!name || name.startsWith('#') || seen.has(name)) continue;
      seen.add(name);
      expect((await httpGet(`${base}/printers/${id}/hls/${name}`)).status).toBe(200);
    }
    await new Promise((r) => setTimeout(r, 300));
  }
}

describe('one seam for every output', () => {
  let gw: Gateway | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  test('after two HLS clients and one RTSP client, the API and metrics count hls and rtsp, and show native RTSPS listening', async () => {
    gw = await startGateway([], {
      rtsps: [rtspsSpec()],
      rtspsEntry: () => ({ native: { rtsps: { port: 0, host: '127.0.0.1' }, chamber: false } }),
    });
    const id = gw.rtspsFleet[0].spec.id;
    await Promise.all([
      watchHls(gw.base, id, 2),
      watchHls(gw.base, id, 2),
      ffmpegDecode(`${gw.rtspBase}/${id}`, 15),
    ]);
    const status = await httpJson<Status>(`${gw.base}/api/printers/${id}`);
    expect(status.outputs.hls.delivered).toBeGreaterThan(0);
    expect(status.outputs.rtsp.delivered).toBeGreaterThan(0);
    expect(status.outputs.rtsp).toMatchObject({ state: 'listening' });
    expect(status.native.rtsps.state).toBe('listening');
    expect(status.native.rtsps.listen).toMatch(/^rtsps:\/\/127\.0\.0\.1:\d+\/streaming\/live\/1$/);
    expect(status.native.chamber).toMatchObject({ state: 'disabled' });

    const metrics = (await httpGet(`${gw.base}/metrics`)).body.toString();
    const delivered = (output: string) =>
      Number(
        new RegExp(`bambucam_frames_delivered_total\\{printer="${id}",output="${output}"\\} (\\d+)`).exec(
          metrics,
        )?.[1] ?? 0,
      );
    expect(delivered('hls')).toBeGreaterThan(0);
    expect(delivered('rtsp')).toBeGreaterThan(0);
    expect(metrics).toContain(
      `bambucam_output_up{printer="${id}",output="native_rtsps",state="listening"} 1`,
    );
    expect(metrics).toContain(
      `bambucam_output_up{printer="${id}",output="native_chamber",state="disabled"} 0`,
    );
  });

  test('the demo banner is made from the outputs’ own descriptions and holds no code', async () => {
    gw = await startGateway([], {
      rtsps: [rtspsSpec()],
      rtspsEntry: () => ({ native: { rtsps: { port: 0, host: '127.0.0.1' } } }),
    });
    const lines = gw.app.describe().join('\n');
    const id = gw.rtspsFleet[0].spec.id;
    expect(lines).toContain(`${gw.base}/printers/${id}/stream.mjpeg`);
    expect(lines).toContain(`${gw.rtspBase}/${id}`);
    expect(lines).toMatch(/rtsps:\/\/bblp:<access code>@127\.0\.0\.1:\d+\/streaming\/live\/1/);
    expect(lines).not.toContain(gw.rtspsFleet[0].spec.accessCode);
  });
});
