import { FfmpegProcess } from '../src/ffmpeg/process';
import { registerSecret, rootLogger } from '../src/log';
import { captureLogs, waitFor } from './helpers';
import { FFMPEG } from './rtsp-tools';

jest.setTimeout(30_000);

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('supervised ffmpeg', () => {
  test('restarts after SIGKILL with backoff; stop() leaves no process', async () => {
    let bytes = 0;
    const p = new FfmpegProcess({
      path: FFMPEG,
      // biome-ignore format: argv pairs
      args: ['-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=10', '-f', 'rawvideo', 'pipe:1'],
      log: rootLogger.child('test'),
      onStdout: (c) => {
        bytes += c.length;
      },
      backoffMs: [100],
    });
    p.start();
    await waitFor(() => bytes > 0, 10_000, 'output');
    const first = p.pid!;
    process.kill(first, 'SIGKILL');
    await waitFor(() => p.pid !== undefined && p.pid !== first, 10_000, 'a new process');
    expect(p.restarts).toBe(1);
    expect(p.lastError).toMatch(/killed by SIGKILL/);
    const second = p.pid!;
    await p.stop();
    expect(alive(second)).toBe(false);
    expect(p.running).toBe(false);
  });

  test('a process that is fed but stays silent is killed and restarted; an unfed one is left alone', async () => {
    const make = () =>
      new FfmpegProcess({
        path: FFMPEG,
        // Bytes that are no JPEG: ffmpeg reads them and never outputs anything.
        args: ['-hide_banner', '-loglevel', 'error', '-f', 'mjpeg', '-i', 'pipe:0', '-f', 'mjpeg', 'pipe:1'],
        log: rootLogger.child('test'),
        stdinIsInput: true,
        onStdout: () => {},
        silentMs: 500,
        backoffMs: [100],
      });
    const fed = make();
    const unfed = make();
    fed.start();
    unfed.start();
    const feeder = setInterval(() => fed.write(Buffer.alloc(64, 0x55)), 50);
    try {
      await waitFor(() => fed.restarts >= 1, 10_000, 'a restart after silence');
      expect(fed.lastError).toMatch(/silent|SIGKILL/);
      expect(unfed.restarts).toBe(0);
    } finally {
      clearInterval(feeder);
      await Promise.all([fed.stop(), unfed.stop()]);
    }
    expect(fed.running || unfed.running).toBe(false);
  });

  test('a stop during start does not leak the process', async () => {
    const p = new FfmpegProcess({
      path: FFMPEG,
      args: ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2', '-f', 'null', '-'],
      log: rootLogger.child('test'),
      onStdout: () => {},
    });
    p.start();
    const pid = p.pid!;
    await p.stop();
    expect(alive(pid)).toBe(false);
  });

  test('credentials in argv and stderr never reach a log line; the stderr tail is in the error', async () => {
    const logs = captureLogs('debug');
    registerSecret('s3cretcode');
    try {
      const p = new FfmpegProcess({
        path: FFMPEG,
        args: [
          '-hide_banner',
          '-i',
          'rtsp://bblp:s3cretcode@127.0.0.1:1/streaming/live/1',
          '-f',
          'null',
          '-',
        ],
        log: rootLogger.child('test'),
        onStdout: () => {},
        backoffMs: [60_000],
      });
      p.start();
      await waitFor(() => p.lastError !== null, 10_000, 'ffmpeg to fail');
      await p.stop();
      expect(p.lastError).toMatch(/exited with code \d+: .*127\.0\.0\.1/);
      expect(p.lastError).not.toContain('s3cretcode');
      expect(logs.lines.some((l) => l.includes('starting') && l.includes('bblp:***@'))).toBe(true);
      for (const line of logs.lines) expect(line).not.toContain('s3cretcode');
    } finally {
      logs.restore();
    }
  });
});
