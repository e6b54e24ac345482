/**
 * RTSP benchmarks (figures for docs/benchmarks.md, not pass/fail):
 *  - fan-out: gateway CPU and RSS with N = 1, 10, 50 RTSP viewers of an RTSPS printer (copy path)
 *  - encoder CPU for one chamber printer whose camera sends 1 and 5 fps
 *  - decoder CPU for one RTSPS printer at the default JPEG rate
 *  - time to first picture for a new RTSP viewer (ffmpeg, process start included)
 * Run: npm run bench:rtsp
 */
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { App } from '../src/app';
import { buildConfig } from '../src/config/load';
import { locateFfmpeg } from '../src/ffmpeg/locate';
import { setLogLevel } from '../src/log';
import { RtspStreamParser, serializeRequest } from '../src/protocol/rtsp/message';
import { decodeRtpPacket, H264Depacketizer } from '../src/protocol/rtsp/rtp-h264';
import {
  type SimulatedPrinter,
  type SimulatedRtspsPrinter,
  startFleet,
  startRtspsFleet,
  stopFleet,
  stopRtspsFleet,
} from '../src/simulator/fleet';

const FFMPEG = locateFfmpeg()?.path ?? 'ffmpeg';
const WINDOW_MS = Number(process.env.BENCH_WINDOW_MS ?? 10_000);
const TICKS = 100; // USER_HZ on Linux
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** CPU seconds (user + system) a process has used, from /proc. */
function procCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS;
}

/** Percent of one core used by `pid` over the window. */
async function cpuOf(pid: number, ms = WINDOW_MS): Promise<number> {
  const a = procCpuSeconds(pid);
  await sleep(ms);
  return ((procCpuSeconds(pid) - a) / (ms / 1000)) * 100;
}

async function selfCpu(ms = WINDOW_MS): Promise<number> {
  const a = process.cpuUsage();
  await sleep(ms);
  const d = process.cpuUsage(a);
  return ((d.user + d.system) / 1000 / ms) * 100;
}

const mb = (b: number) => Math.round((b / 1024 / 1024) * 10) / 10;
const pct = (n: number) => `${n.toFixed(1)} %`;

async function gateway(
  chamber: SimulatedPrinter[],
  rtsps: SimulatedRtspsPrinter[],
  printerExtra: Record<string, unknown> = {},
): Promise<App> {
  const loaded = buildConfig({
    http: { port: 0, host: '127.0.0.1' },
    rtsp: { port: 0, host: '127.0.0.1' },
    webrtc: { host: '127.0.0.1', port: 0, candidates: ['127.0.0.1'] },
    printers: [...chamber, ...rtsps].map((p) => ({ ...p.configEntry(), ...printerExtra })),
  });
  const app = new App({ config: loaded.config, tuning: { idleStopMs: 2000 } });
  await app.start();
  return app;
}

interface Viewers {
  stop: () => void;
  /** Bytes all viewers received in the last second. */
  lastBytesPerSecond: number;
}

function startViewers(url: string, n: number): Promise<Viewers> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(__dirname, 'rtsp-viewers.js'), url, String(n)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const viewers: Viewers = { stop: () => child.kill('SIGKILL'), lastBytesPerSecond: 0 };
    child.stdout.on('data', (d: Buffer) => {
      const text = d.toString();
      for (const m of text.matchAll(/bytes (\d+)/g)) viewers.lastBytesPerSecond = Number(m[1]);
      if (text.includes('ready')) resolve(viewers);
    });
    child.on('error', reject);
  });
}

/** ms from connecting to holding a complete keyframe, with a minimal RTSP client (no decoder start-up). */
function timeToKeyframe(url: string): Promise<number> {
  const started = Date.now();
  const { hostname, port } = new URL(url.replace(/^rtsp:/, 'http:'));
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const parser = new RtspStreamParser();
    const dep = new H264Depacketizer();
    let cseq = 0;
    const send = (method: string, uri: string, extra: Record<string, string> = {}) =>
      socket.write(serializeRequest(method, uri, { CSeq: ++cseq, ...extra }));
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('no keyframe within 20 s'));
    }, 20_000);
    socket.on('connect', () => send('DESCRIBE', url));
    socket.on('error', reject);
    socket.on('data', (d: Buffer) => {
      for (const m of parser.push(d)) {
        if (m.kind === 'response') {
          if (cseq === 1)
            send('SETUP', `${url}/track1`, { Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1' });
          else if (cseq === 2) send('PLAY', url, { Session: (m.headers.session ?? '').split(';')[0] });
        } else if (m.kind === 'interleaved' && m.channel === 0) {
          if (dep.push(decodeRtpPacket(m.data)).some((u) => u.key)) {
            clearTimeout(timer);
            socket.destroy();
            resolve(Date.now() - started);
            return;
          }
        }
      }
    });
  });
}

function timeToFirstPicture(url: string): Promise<number> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    execFile(
      FFMPEG,
      ['-v', 'error', '-rtsp_transport', 'tcp', '-i', url, '-frames:v', '1', '-f', 'null', '-'],
      { timeout: 30_000 },
      (err) => (err ? reject(err) : resolve(Date.now() - started)),
    );
  });
}

async function fanOut(lines: string[]): Promise<void> {
  const rtsps = await startRtspsFleet(
    [
      {
        id: 'x1c',
        name: 'X1C',
        serial: '00M00A000000001',
        accessCode: '12345678',
        model: 'X1C',
        width: 1280,
        height: 720,
      },
    ],
    FFMPEG,
  );
  const app = await gateway([], rtsps, { native: { rtsps: false } });
  const url = `rtsp://127.0.0.1:${app.rtspPort}/x1c`;
  await sleep(3000);
  // Baseline: the source alone (and the simulator's server in this same process).
  const base = await selfCpu();
  lines.push(
    '| viewers | gateway CPU (% of a core) | per viewer above baseline | RSS | delivered to all viewers |',
    '|---|---|---|---|---|',
  );
  lines.push(`| 0 | ${pct(base)} | — | ${mb(process.memoryUsage().rss)} MB | — |`);
  for (const n of [1, 10, 50]) {
    const viewers = await startViewers(url, n);
    await sleep(2000);
    const cpu = await selfCpu();
    const mbit = ((viewers.lastBytesPerSecond * 8) / 1e6).toFixed(1);
    lines.push(
      `| ${n} | ${pct(cpu)} | ${((cpu - base) / n).toFixed(2)} % | ${mb(process.memoryUsage().rss)} MB | ${mbit} Mbit/s |`,
    );
    viewers.stop();
    await sleep(1000);
  }
  const ttf: number[] = [];
  const ttk: number[] = [];
  for (let i = 0; i < 5; i++) {
    ttk.push(await timeToKeyframe(url));
    ttf.push(await timeToFirstPicture(url));
  }
  lines.push(
    '',
    `New RTSP viewer of an RTSPS printer, 5 runs: complete keyframe received after ${ttk.join(', ')} ms; ` +
      `first picture decoded by ffmpeg (process start and stream probing included) after ${ttf.join(', ')} ms`,
  );

  // Decoder: a JPEG viewer (snapshot kept warm by an MJPEG-like subscriber) on the same printer.
  const worker = app.workers.get('x1c')!;
  const sub = worker.hub.subscribe({ send: (_f, done) => done(), close: () => {} }, { output: 'bench' });
  await sleep(3000);
  const decoderPid = worker.decoder?.process.pid;
  if (decoderPid) {
    const frames0 = worker.hub.framesIn;
    const cpu = await cpuOf(decoderPid);
    const fps = ((worker.hub.framesIn - frames0) * 1000) / WINDOW_MS;
    lines.push(
      '',
      `Decoder (H.264 1280×720 30 fps → JPEG at the default ${worker.printer.jpegFps} fps): ffmpeg ${pct(cpu)} of a core, ${fps.toFixed(1)} JPEG/s`,
    );
  }
  sub.unsubscribe();
  await app.stop();
  await stopRtspsFleet(rtsps);
}

async function encoder(lines: string[]): Promise<void> {
  lines.push(
    '',
    '| chamber camera fps | encoder ffmpeg CPU (% of a core) | H.264 out fps | keyframe, encoder cold | keyframe, encoder running | ffmpeg first picture, encoder running |',
    '|---|---|---|---|---|---|',
  );
  for (const fps of [1, 5]) {
    const fleet = await startFleet([
      { id: 'p1s', name: 'P1S', serial: '01P00A000000001', accessCode: '12345678', model: 'P1S', fps },
    ]);
    const app = await gateway(fleet, [], { native: { chamber: false } });
    const url = `rtsp://127.0.0.1:${app.rtspPort}/p1s`;
    await sleep(2500);
    const cold = await timeToKeyframe(url); // the encoder starts for this viewer
    const viewers = await startViewers(url, 1);
    await sleep(2000);
    const warm = await timeToKeyframe(url);
    const first = await timeToFirstPicture(url);
    const worker = app.workers.get('p1s')!;
    const pid = worker.encoder?.process.pid;
    const units0 = worker.h264.unitsIn;
    const cpu = pid ? await cpuOf(pid) : Number.NaN;
    const outFps = ((worker.h264.unitsIn - units0) * 1000) / WINDOW_MS;
    lines.push(`| ${fps} | ${pct(cpu)} | ${outFps.toFixed(1)} | ${cold} ms | ${warm} ms | ${first} ms |`);
    viewers.stop();
    await app.stop();
    await stopFleet(fleet);
  }
}

async function main(): Promise<void> {
  setLogLevel('error');
  const lines: string[] = [`RTSP benchmarks, ${new Date().toISOString()}, ${WINDOW_MS / 1000} s windows`, ''];
  await fanOut(lines);
  await encoder(lines);
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${err.stack ?? err}\n`);
    process.exit(1);
  },
);
