/**
 * The Dockerfile, replayed without a container engine (test/dockerfile-replay.ts): the build stage
 * runs `npm ci`, the build and the prune in a folder holding only what its COPY lines name, and the
 * runtime stage's CMD then serves the demo from a folder holding only what its COPY lines name.
 * A file left out of a COPY line fails here, as it would fail `docker build` or the container.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import YAML from 'yaml';
import { demoWebPort, LOOPBACK_DEMO_ENV } from '../cli-process';
import {
  BASE_IMAGE_STEPS,
  baseImageStep,
  DockerIgnore,
  parseDockerfile,
  type ReplayedStage,
  replayDockerfile,
  startInStage,
} from '../dockerfile-replay';
import { httpJson, waitFor } from '../helpers';

const ROOT = resolve(__dirname, '..', '..');
const DOCKERFILE = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
// npm ci from the registry, a TypeScript build and esbuild on a loaded machine.
const REPLAY_TIMEOUT_MS = 600_000;

const work = mkdtempSync(join(tmpdir(), 'bambucam-docker-'));
const cacheDir = join(work, 'layers');
const runEnv = { ...process.env, NODE_ENV: undefined };

function replay(dockerfile: string, name: string): Promise<ReplayedStage[]> {
  return replayDockerfile({
    dockerfile,
    context: ROOT,
    workDir: mkdtempSync(join(work, `${name}-`)),
    cacheDir,
    env: runEnv,
  });
}

/** The Dockerfile without the line matching `drop` in stage `stage` (exactly one must match). */
function without(stage: number, drop: RegExp): string {
  const lines = DOCKERFILE.split('\n');
  const starts = lines.flatMap((l, i) => (/^FROM /.test(l) ? [i] : []));
  const from = starts[stage];
  const to = starts[stage + 1] ?? lines.length;
  const hits = lines.flatMap((l, i) => (i >= from && i < to && drop.test(l) ? [i] : []));
  expect(hits).toHaveLength(1);
  return lines.filter((_l, i) => i !== hits[0]).join('\n');
}

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('Dockerfile, read', () => {
  test('two stages on Node 24 slim Debian; a non-root user, /data, every port the config can use', () => {
    const stages = parseDockerfile(DOCKERFILE);
    expect(stages.map((s) => s.base)).toEqual(['node:24-bookworm-slim', 'node:24-bookworm-slim']);
    const runtime = stages[1].instructions;
    const args = (k: string) => runtime.filter((i) => i.keyword === k).map((i) => i.args);
    expect(args('USER')).toEqual(['bambucam']);
    expect(args('VOLUME')).toEqual(['/data']);
    expect(args('EXPOSE').join(' ').split(' ').sort()).toEqual(
      ['322/tcp', '6000/tcp', '8090/tcp', '8554/tcp', '8555/udp', '8883/tcp'].sort(),
    );
    expect(args('HEALTHCHECK')[0]).toMatch(/\/healthz/);
  });

  test('.dockerignore keeps dependencies, builds, data and test output out of the context', () => {
    const ignore = new DockerIgnore(readFileSync(join(ROOT, '.dockerignore'), 'utf8'));
    for (const p of [
      'node_modules/express/package.json',
      'dist/cli.js',
      'build/bench/rtsp.js',
      'test-artifacts/summary.txt',
      '.git/HEAD',
      '.bambucam-data/ca.pem',
      'data/bambucam.yaml',
      'deploy/bambucam.yaml',
      'bambucam.yaml',
      'coverage/lcov.info',
    ])
      expect([p, ignore.ignores(p)]).toEqual([p, true]);
    for (const p of ['package.json', 'src/cli.ts', 'scripts/build-web.js', 'web/index.html', 'config/x.yaml'])
      expect([p, ignore.ignores(p)]).toEqual([p, false]);
  });

  test('deploy/compose.yaml: builds this Dockerfile, keeps /data, mounts the configuration it names', () => {
    const text = readFileSync(join(ROOT, 'deploy', 'compose.yaml'), 'utf8');
    const service = YAML.parse(text).services.bambucam;
    expect(resolve(ROOT, 'deploy', service.build)).toBe(ROOT);
    expect(service.network_mode).toBe('host');
    const volumes = service.volumes as string[];
    expect(volumes).toContain('bambucam-data:/data');
    expect(volumes).toContain(`./bambucam.yaml:${service.environment.BAMBUCAM_CONFIG}:ro`);
    // Every exposed port is listed for those who publish ports instead of using the host's network.
    const exposed = parseDockerfile(DOCKERFILE)[1]
      .instructions.filter((i) => i.keyword === 'EXPOSE')
      .flatMap((i) => i.args.split(' '));
    for (const port of exposed) {
      const [n, proto] = port.split('/');
      expect([port, text.includes(`"${n}:${n}${proto === 'udp' ? '/udp' : ''}"`)]).toEqual([port, true]);
    }
  });

  test('only base-image steps are skipped, and each one says why', () => {
    expect(baseImageStep('apt-get install -y --no-install-recommends ffmpeg')).toMatch(/ffmpeg/);
    expect(baseImageStep('useradd --system bambucam')).not.toBeNull();
    expect(baseImageStep('npm ci --ignore-scripts')).toBeNull();
    expect(baseImageStep('npm run build')).toBeNull();
    expect(baseImageStep('rm -rf node_modules/@ffmpeg-installer')).toBeNull();
    for (const s of BASE_IMAGE_STEPS) expect(s.reason.length).toBeGreaterThan(20);
  });
});

describe('Dockerfile, replayed', () => {
  let stages: ReplayedStage[];

  beforeAll(async () => {
    stages = await replay(DOCKERFILE, 'full');
  }, REPLAY_TIMEOUT_MS);

  test('the runtime stage holds the built program and only runtime dependencies', () => {
    const runtime = stages[1];
    const app = join(runtime.root, 'app');
    expect(readFileSync(join(app, 'dist', 'cli.js'), 'utf8')).toMatch(/bambucam/);
    expect(() => readFileSync(join(app, 'node_modules', 'typescript', 'package.json'))).toThrow();
    expect(() => readFileSync(join(app, 'node_modules', 'esbuild', 'package.json'))).toThrow();
    expect(() => readFileSync(join(app, 'src', 'cli.ts'))).toThrow();
    // What was skipped: only base-image steps of the runtime stage.
    expect(stages[0].skipped).toEqual([]);
    expect(runtime.skipped.map((s) => s.step.split(' ')[0])).toEqual([
      'apt-get',
      'apt-get',
      'rm',
      'useradd',
      'chown',
    ]);
  });

  test('its CMD serves the demo: health, web page, bundles, snapshot, HLS; the HEALTHCHECK passes', async () => {
    const runtime = stages[1];
    const gw = startInStage(runtime, runtime.cmd!, LOOPBACK_DEMO_ENV);
    try {
      const base = `http://127.0.0.1:${await demoWebPort(gw.output)}`;
      const get = (path: string) => fetch(`${base}${path}`);

      expect((await get('/healthz')).status).toBe(200);
      const page = await get('/');
      expect(page.status).toBe(200);
      expect(await page.text()).toMatch(/<script src="page\.js"/);
      for (const asset of ['/page.js', '/style.css', '/bambucam-card.js']) {
        const res = await get(asset);
        expect([asset, res.status]).toEqual([asset, 200]);
      }
      await waitFor(
        async () => {
          const api = await httpJson<{ printers: { source: { state: string } }[] }>(`${base}/api/printers`);
          return api.printers.length === 3 && api.printers.every((p) => p.source.state === 'streaming');
        },
        30_000,
        'the demo printers streaming',
      );
      // sharp from the pruned node_modules.
      const snap = await get('/printers/garage-p1s/snapshot.jpg?width=320');
      expect(snap.status).toBe(200);
      expect(Buffer.from(await snap.arrayBuffer()).subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
      // H.264 made by the ffmpeg FFMPEG_PATH names (Debian's in the image).
      const hls = await get('/printers/garage-p1s/hls/index.m3u8');
      expect(hls.status).toBe(200);
      expect(await hls.text()).toMatch(/#EXTM3U/);

      const port = new URL(base).port;
      const health = startInStage(runtime, runtime.healthcheck!, { BAMBUCAM_HTTP_PORT: port });
      expect(await health.exited).toBe(0);
      const wrongPort = startInStage(runtime, runtime.healthcheck!, { BAMBUCAM_HTTP_PORT: '1' });
      expect(await wrongPort.exited).toBe(1);
    } finally {
      gw.child.kill('SIGTERM');
    }
    expect(await gw.exited).toBe(0);
  }, 120_000);

  test(
    'without `COPY scripts` the build stage fails, as docker build would',
    async () => {
      // The dependency layer comes from the cache, as it would in Docker; the build then fails.
      await expect(replay(without(0, /^COPY scripts /), 'no-scripts')).rejects.toThrow(
        /scripts\/build-web\.js/,
      );
    },
    REPLAY_TIMEOUT_MS,
  );

  test(
    'without `COPY web` the runtime serves no web page',
    async () => {
      // The build stage copies web/ too (its sources); the runtime stage's copy is left out here.
      const broken = await replay(without(1, /^COPY web \.\/web$/), 'no-web');
      const runtime = broken[1];
      const gw = startInStage(runtime, runtime.cmd!, LOOPBACK_DEMO_ENV);
      try {
        const port = await demoWebPort(gw.output);
        expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
        expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(404);
      } finally {
        gw.child.kill('SIGTERM');
      }
      await gw.exited;
    },
    REPLAY_TIMEOUT_MS,
  );
});
