import { createServer, type Server } from 'node:net';
import { App } from '../../src/app';
import { buildConfig } from '../../src/config/load';
import { captureLogs, FAST_TUNING, httpGet } from '../helpers';

describe('a port that cannot be bound disables only that output', () => {
  let blocker: Server;
  let app: App | null = null;
  beforeEach(async () => {
    blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  });
  afterEach(async () => {
    await app?.stop();
    app = null;
    await new Promise((r) => blocker.close(r));
  });

  test('RTSP and native RTSPS ports in use: clear log lines, HTTP still serves', async () => {
    const taken = (blocker.address() as { port: number }).port;
    const logs = captureLogs('info');
    try {
      const loaded = buildConfig({
        http: { port: 0, host: '127.0.0.1' },
        rtsp: { port: taken, host: '127.0.0.1' },
        printers: [
          {
            id: 'x1',
            host: '127.0.0.1',
            access_code: '12345678',
            camera: 'rtsps',
            ports: { rtsps: 1 }, // nothing listens there
            native: { rtsps: { port: taken, host: '127.0.0.1' }, chamber: false },
          },
        ],
      });
      app = new App({ config: loaded.config, tuning: FAST_TUNING, ffmpegPath: null });
      await app.start();
      expect(app.rtsp).toBeNull();
      expect(app.nativeRtsps.size).toBe(0);
      const lines = logs.lines.join('\n');
      expect(lines).toMatch(
        /\[rtsp\] cannot listen on 127\.0\.0\.1:\d+: port \d+ is in use by another program; choose another rtsp\.port or free it — this output is disabled/,
      );
      expect(lines).toMatch(
        /\[x1\] \[native-rtsps\] cannot listen on 127\.0\.0\.1:\d+: port \d+ is in use by another program; choose another native\.rtsps\.port/,
      );
      // No ffmpeg: said once, with what is missing.
      expect(lines).toMatch(/no ffmpeg found.*JPEG \(snapshot, MJPEG\) for this RTSPS printer/);
      const res = await httpGet(`http://127.0.0.1:${app.httpPort}/api/printers/x1`);
      expect(res.status).toBe(200);
    } finally {
      logs.restore();
    }
  });
});
