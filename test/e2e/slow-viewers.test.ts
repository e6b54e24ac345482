/**
 * Issue 13, finding 4: a viewer that drains slower than the stream needs gets fresh pictures, not a
 * queue of old ones. A Python client (test/foreign/slow_reader.py) reads at a fixed rate with a small
 * receive buffer, as a viewer behind a slow link, and notes when each picture arrived; the simulator
 * stamps each picture with the time it sent it. After the first 10 s no picture may be older than 3 s.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { STALL_TIMEOUT_MS } from '../../src/hub/jpeg-hub';
import { type Gateway, httpJson, spec, startGateway } from '../helpers';

jest.setTimeout(120_000);

const SCRIPT = join(__dirname, '..', 'foreign', 'slow_reader.py');
const WARMUP_MS = 10_000;
const MAX_AGE_MS = 3000;

interface Picture {
  seq: number | null;
  sent_at: number | null;
  received_at: number;
  bytes: number;
  width: number | null;
}
interface ReaderResult {
  started_at: number;
  bytes: number;
  pictures: Picture[];
  error: string | null;
}

function slowReader(args: string[]): Promise<ReaderResult> {
  return new Promise((resolve, reject) => {
    execFile('python3', [SCRIPT, ...args], { timeout: 90_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`slow_reader.py failed: ${err.message}\n${stderr}`));
      resolve(JSON.parse(stdout) as ReaderResult);
    });
  });
}

/** Pictures complete after the warm-up, with their age when the viewer had them. */
function afterWarmup(r: ReaderResult): (Picture & { age: number })[] {
  expect(r.error).toBeNull();
  return r.pictures
    .filter((p) => p.received_at - r.started_at >= WARMUP_MS)
    .map((p) => {
      expect(p.sent_at).not.toBeNull(); // every picture carries the simulator's tag
      return { ...p, age: p.received_at - (p.sent_at ?? 0) };
    });
}

function summary(pictures: { age: number; seq: number | null }[]): string {
  return pictures.map((p) => `#${p.seq}:${Math.round(p.age)}ms`).join(' ');
}

describe('slow viewers get fresh pictures', () => {
  let gw: Gateway | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  test('MJPEG at 32 KB/s from a 2 fps printer: at most 3 s old after the first 10 s, in order, some smaller', async () => {
    gw = await startGateway([spec({ fps: 2 })], { tuning: { stallTimeoutMs: STALL_TIMEOUT_MS } });
    const id = gw.fleet[0].spec.id;
    const port = new URL(gw.base).port;
    const result = await slowReader([
      'mjpeg',
      '127.0.0.1',
      port,
      `/printers/${id}/stream.mjpeg`,
      '--rate',
      String(32 * 1024),
      '--seconds',
      '25',
    ]);
    const late = afterWarmup(result);
    // The link carries ~1.5 s of pictures per second at most: some must arrive, never old ones.
    expect(late.length).toBeGreaterThanOrEqual(5);
    const oldest = Math.max(...late.map((p) => p.age));
    if (oldest > MAX_AGE_MS) throw new Error(`a picture was ${Math.round(oldest)} ms old: ${summary(late)}`);
    const seqs = result.pictures.map((p) => p.seq ?? 0);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThanOrEqual(seqs[i - 1]);
    // The measured rate could not carry the 1280-wide pictures within a second: smaller ones went.
    expect(late.some((p) => (p.width ?? 1280) < 1280)).toBe(true);
    const counters = gw.app.workers.get(id)!.hub.outputCounters().mjpeg;
    expect(counters.dropped).toBeGreaterThan(0);
  });

  test('native :6000 at 64 KB/s from a 30 fps printer: at most 3 s old after the first 10 s, in order', async () => {
    // The product's stall limit (20 s), not the tests' fast 3 s: at 64 KB/s one picture alone takes seconds.
    gw = await startGateway([spec({ fps: 30 })], { tuning: { stallTimeoutMs: STALL_TIMEOUT_MS } });
    const id = gw.fleet[0].spec.id;
    const port = gw.app.nativeChamber.servers.get(id)!.port;
    const reader = slowReader([
      'chamber',
      '127.0.0.1',
      String(port),
      gw.fleet[0].spec.accessCode,
      '--rate',
      String(64 * 1024),
      '--seconds',
      '25',
    ]);
    // While it reads, the API shows the viewer paced, with its measured drain rate.
    await new Promise((r) => setTimeout(r, 15_000));
    const status = await httpJson<{
      native: { chamber: { viewers: { pacing: { paced: boolean; drain_bytes_per_s: number | null } }[] } };
    }>(`${gw.base}/api/printers/${id}`);
    const result = await reader;
    const late = afterWarmup(result);
    expect(late.length).toBeGreaterThanOrEqual(10);
    const oldest = Math.max(...late.map((p) => p.age));
    if (oldest > MAX_AGE_MS) throw new Error(`a picture was ${Math.round(oldest)} ms old: ${summary(late)}`);
    const seqs = result.pictures.map((p) => p.seq ?? 0);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1]);
    const [viewer] = status.native.chamber.viewers;
    expect(viewer.pacing.paced).toBe(true);
    // The measured drain rate is the link's: within a factor of two of 64 KB/s (TLS adds a little).
    expect(viewer.pacing.drain_bytes_per_s).toBeGreaterThan(32 * 1024);
    expect(viewer.pacing.drain_bytes_per_s).toBeLessThan(128 * 1024);
  });
});
