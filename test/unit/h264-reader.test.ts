/** The H.264 reader contract: bounded queue, whole pictures lost, resume on a keyframe, counted by the stream. */
import { H264Stream, type StreamUnit } from '../../src/hub/h264-stream';

const idr = (n: number) => Buffer.concat([Buffer.from([0x65, 0x88]), Buffer.alloc(n)]);
const p = (n: number) => Buffer.concat([Buffer.from([0x41, 0x9a]), Buffer.alloc(n)]);

describe('H.264 readers', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  test('a new reader starts on the cached keyframe; subscribing is wanting', () => {
    const s = new H264Stream('t');
    s.push({ nals: [p(10)], key: false }, 0);
    s.push({ nals: [idr(10)], key: true }, 3000);
    s.push({ nals: [p(10)], key: false }, 6000);
    const got: StreamUnit[] = [];
    const r = s.subscribe(
      {
        send: (u, done) => {
          got.push(u);
          done();
        },
        close: () => {},
      },
      { output: 'x' },
    );
    expect(got.map((u) => u.key)).toEqual([true, false]);
    expect(s.demand).toBe(1);
    r.unsubscribe();
    expect(s.demand).toBe(0);
    expect(s.outputCounters().x).toMatchObject({ viewers: 0, delivered: 2, dropped: 0 });
  });

  test('a slow reader loses whole pictures, resumes on a keyframe, never holds more than its limit, and never slows a fast one', () => {
    const s = new H264Stream('t');
    let pendingDone: (() => void) | null = null;
    const slow: StreamUnit[] = [];
    const fast: StreamUnit[] = [];
    const r = s.subscribe(
      {
        send: (u, done) => {
          slow.push(u);
          pendingDone = done;
        },
        close: () => {},
      },
      { output: 'slow', maxQueuedBytes: 5_000 },
    );
    s.subscribe(
      {
        send: (u, done) => {
          fast.push(u);
          done();
        },
        close: () => {},
      },
      { output: 'fast' },
    );
    s.push({ nals: [idr(1000)], key: true }, 0); // in the slow sink
    let maxBacklog = 0;
    for (let i = 1; i <= 20; i++) {
      s.push({ nals: [p(1000)], key: false }, i * 3000);
      maxBacklog = Math.max(maxBacklog, r.backlogBytes);
    }
    expect(maxBacklog).toBeLessThanOrEqual(5_000);
    expect(fast).toHaveLength(21);
    // The slow one catches up: whatever it had queued, then nothing until the next keyframe.
    const release = () => {
      while (pendingDone) {
        const d = pendingDone as () => void;
        pendingDone = null;
        d();
      }
    };
    release();
    const before = slow.length;
    s.push({ nals: [p(1000)], key: false }, 70_000);
    release();
    expect(slow.length).toBe(before);
    s.push({ nals: [idr(1000)], key: true }, 73_000);
    release();
    expect(slow.at(-1)?.key).toBe(true);
    const counters = s.outputCounters();
    expect(counters.slow.dropped).toBeGreaterThan(0);
    expect(counters.slow.delivered + counters.slow.dropped).toBe(23);
    expect(counters.fast).toMatchObject({ delivered: 23, dropped: 0 });
  });

  test('a reader whose sink takes nothing past its stall limit is closed and counted', () => {
    const s = new H264Stream('t');
    const closed: string[] = [];
    s.subscribe({ send: () => {}, close: (why) => closed.push(why) }, { output: 'stuck', stallMs: 2_000 });
    s.push({ nals: [idr(10)], key: true }, 0);
    jest.advanceTimersByTime(2_600);
    expect(closed).toHaveLength(1);
    expect(s.outputCounters().stuck).toMatchObject({ viewers: 0, stalled: 1 });
    expect(s.demand).toBe(0);
  });
});
