/**
 * Child process for the soak: the gateway (App) from a JSON configuration, reporting its own figures.
 * argv: config JSON file. Sends its ports when started; answers { cmd: 'stats' } with memory, handles,
 * file descriptors and ffmpeg children; { cmd: 'gc' } runs a full collection first (--expose-gc).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { App } from '../../src/app';
import { buildConfig } from '../../src/config/load';
import { setLogLevel } from '../../src/log';

/** Child processes of this one whose command is ffmpeg: their state and command lines. */
function ffmpegChildren(): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid && comm.startsWith('ffmpeg')) {
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').join(' ');
        out.push(
          `${pid} (${stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)}) ${cmdline.slice(0, 160)}`,
        );
      }
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

async function main() {
  setLogLevel('warn');
  const raw = JSON.parse(readFileSync(process.argv[2], 'utf8'));
  const { config, problems } = buildConfig(raw, {});
  if (problems.length) throw new Error(problems.join('\n'));
  const app = new App({ config });
  await app.start();
  process.send?.({
    http: app.httpPort,
    rtsp: app.rtspPort,
    native: Object.fromEntries([...app.nativeChamber.servers].map(([id, s]) => [id, s.port])),
    rtsps: Object.fromEntries([...app.nativeRtsps].map(([id, s]) => [id, s.port])),
  });
  process.on('message', (m: { cmd: string }) => {
    if (m.cmd !== 'stats' && m.cmd !== 'gc') return;
    if (m.cmd === 'gc') (globalThis as { gc?: () => void }).gc?.();
    const mem = process.memoryUsage();
    const handles: Record<string, number> = {};
    for (const type of process.getActiveResourcesInfo()) handles[type] = (handles[type] ?? 0) + 1;
    process.send?.({
      rss: mem.rss,
      heapUsed: mem.heapUsed,
      external: mem.external,
      arrayBuffers: mem.arrayBuffers,
      handles,
      fds: readdirSync('/proc/self/fd').length,
      ...((list) => ({ ffmpeg: list.length, ffmpegArgs: list }))(ffmpegChildren()),
    });
  });
  process.on('SIGTERM', () => void app.stop().then(() => process.exit(0)));
}

void main();
