/**
 * A fresh machine: no ffmpeg on the PATH, no internet (so no ffmpeg-static download). README's
 * `npm ci && npm start` must still give every output: the registry's @ffmpeg-installer/ffmpeg
 * (bundled in its tarball) is the last place bambucam looks, and doctor says so.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { locateFfmpeg } from '../../src/ffmpeg/locate';
import { type SimulatedPrinter, startFleet, stopFleet } from '../../src/simulator/fleet';
import { demoWebPort, LOOPBACK_DEMO_ENV, startCli } from '../cli-process';
import { httpJson, spec, waitFor } from '../helpers';

jest.setTimeout(120_000);

/** The environment of a machine without ffmpeg: nothing on the PATH (node is started by its path). */
const NO_FFMPEG = { PATH: '', FFMPEG_PATH: '' };
// ffmpeg-static comes first when its download worked (a machine with internet); this one has none.
const fallback = locateFfmpeg({ PATH: '' });

describe('a machine without ffmpeg', () => {
  test('the bundled fallback is found when nothing else is', () => {
    expect(fallback?.origin).toBe('@ffmpeg-installer/ffmpeg');
  });

  test('the demo serves every output: X1 snapshots (decoded), H.264 of a P1S (encoded) over HLS and RTSP', async () => {
    const run = startCli(['demo'], { ...NO_FFMPEG, ...LOOPBACK_DEMO_ENV });
    try {
      const port = await demoWebPort(run.output);
      const base = `http://127.0.0.1:${port}`;
      expect(run.output()).not.toMatch(/no ffmpeg found/);
      // The simulated X1 exists only with an ffmpeg (it draws its video with it).
      expect(run.output()).toMatch(/Lab X1C:?\s+rtsp:\/\/\S+:\d+\/lab-x1c /);
      expect(run.output()).toMatch(/Garage P1S:?\s+rtsp:\/\/\S+:\d+\/garage-p1s /);
      await waitFor(
        async () => {
          const api = await httpJson<{ printers: { source: { state: string } }[] }>(`${base}/api/printers`);
          return api.printers.length === 3 && api.printers.every((p) => p.source.state === 'streaming');
        },
        30_000,
        'the three demo printers streaming',
      );
      // JPEG from the X1's H.264: the fallback's decoder (ffmpeg 4.x: -vsync instead of -fps_mode).
      const snap = await fetch(`${base}/printers/lab-x1c/snapshot.jpg`);
      expect(snap.status).toBe(200);
      expect(Buffer.from(await snap.arrayBuffer()).subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
      // H.264 from the P1S's JPEGs: the fallback's libx264.
      const hls = await fetch(`${base}/printers/garage-p1s/hls/index.m3u8`);
      expect(hls.status).toBe(200);
      expect(await hls.text()).toMatch(/#EXTINF/);
    } finally {
      run.child.kill('SIGTERM');
    }
    expect(await run.exited).toBe(0);
  });

  describe('doctor', () => {
    let fleet: SimulatedPrinter[] = [];
    const dir = mkdtempSync(join(tmpdir(), 'bambucam-fresh-'));
    afterEach(async () => {
      await stopFleet(fleet);
      fleet = [];
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    async function doctor(env: NodeJS.ProcessEnv): Promise<string> {
      fleet = await startFleet([spec({ model: 'P1S', mqtt: true, fps: 2 })]);
      const file = join(dir, 'bambucam.yaml');
      writeFileSync(file, YAML.stringify({ printers: [fleet[0].autoEntry()] }));
      const run = startCli(['doctor', '--config', file], env);
      await run.exited;
      return run.output();
    }

    test('says which ffmpeg is used, that it is the old fallback, and that it does TLS and H.264', async () => {
      const text = await doctor(NO_FFMPEG);
      expect(text).toContain(`: ${fallback!.path} (from @ffmpeg-installer/ffmpeg)`);
      expect(text).toMatch(/– ffmpeg is bambucam's bundled fallback .*apt-get install ffmpeg/);
      expect(text).toContain('✓ ffmpeg has TLS (gnutls)');
      expect(text).toContain('✓ ffmpeg can encode H.264 (libx264) for RTSP/HLS');
      expect(text).toContain('All checks passed.');
    });

    test('with no ffmpeg at all, says in one line what to install', async () => {
      const text = await doctor({ PATH: '', FFMPEG_PATH: join(dir, 'no-such-ffmpeg') });
      expect(text).toMatch(
        /✗ ffmpeg: not found\n\s+fix: no ffmpeg found: install one \(Debian\/Ubuntu: apt-get install ffmpeg;/,
      );
    });
  });
});
