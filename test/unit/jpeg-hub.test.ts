import type { Frame } from '../../src/hub/frame';
import { JpegHub, type SubscriberSink } from '../../src/hub/jpeg-hub';
import { sleep, waitFor } from '../helpers';

const img = (n: number) => Buffer.from([0xff, 0xd8, n, 0xff, 0xd9]);

function manualSink() {
  const got: Frame[] = [];
  const dones: (() => void)[] = [];
  let closedWith: string | null = null;
  const sink: SubscriberSink = {
    send(frame, done) {
      got.push(frame);
      dones.push(done);
    },
    close(reason) {
      closedWith = reason;
    },
  };
  return { sink, got, finish: () => dones.shift()?.(), closed: () => closedWith };
}

/** A sink that takes every frame at once. */
function collect(into: Frame[]): SubscriberSink {
  return {
    send(frame, done) {
      into.push(frame);
      done();
    },
    close() {},
  };
}

describe('JpegHub', () => {
  test('a new subscriber gets the latest frame at once', () => {
    const hub = new JpegHub();
    hub.publish(img(1));
    hub.publish(img(2));
    const s = manualSink();
    hub.subscribe(s.sink, { output: 'mjpeg' });
    expect(s.got.map((f) => f.seq)).toEqual([2]);
    hub.close();
  });

  test('a busy subscriber holds one frame in flight and one pending; newer replace older and are counted', () => {
    const hub = new JpegHub();
    const slow = manualSink();
    const fast: Frame[] = [];
    hub.subscribe(slow.sink, { output: 'mjpeg' });
    hub.subscribe(collect(fast), { output: 'native' });
    for (let i = 1; i <= 10; i++) hub.publish(img(i));
    expect(fast.map((f) => f.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(slow.got.map((f) => f.seq)).toEqual([1]);
    slow.finish();
    expect(slow.got.map((f) => f.seq)).toEqual([1, 10]);
    const c = hub.outputCounters();
    expect(c.mjpeg).toMatchObject({ viewers: 1, delivered: 2, dropped: 8 });
    expect(c.native).toMatchObject({ viewers: 1, delivered: 10, dropped: 0 });
    hub.close();
  });

  test('a subscriber stuck past the stall limit is closed and counted; others continue', async () => {
    const hub = new JpegHub({ stallTimeoutMs: 200 });
    const stuck = manualSink();
    const ok: Frame[] = [];
    hub.subscribe(stuck.sink, { output: 'mjpeg' });
    hub.subscribe(collect(ok), { output: 'mjpeg' });
    hub.publish(img(1));
    await waitFor(() => stuck.closed(), 3000, 'stalled subscriber closed');
    expect(stuck.closed()).toMatch(/stalled/);
    hub.publish(img(2));
    expect(ok.length).toBe(2);
    expect(hub.outputCounters().mjpeg).toMatchObject({ viewers: 1, stalled: 1 });
    hub.close();
  });

  test('minIntervalMs caps the rate and delivers the newest frame when the interval ends', async () => {
    const hub = new JpegHub();
    const got: Frame[] = [];
    hub.subscribe(collect(got), { output: 'mjpeg', minIntervalMs: 150 });
    hub.publish(img(1));
    hub.publish(img(2));
    hub.publish(img(3));
    expect(got.map((f) => f.seq)).toEqual([1]);
    await waitFor(() => got.length === 2, 2000, 'throttled frame');
    expect(got.map((f) => f.seq)).toEqual([1, 3]);
    hub.close();
  });

  test('repeatAfterMs re-sends the latest frame when the camera is silent', async () => {
    const hub = new JpegHub();
    const got: Frame[] = [];
    hub.publish(img(1));
    hub.subscribe(collect(got), { output: 'mjpeg', repeatAfterMs: 100 });
    await waitFor(() => got.length >= 3, 3000, 'repeats');
    expect(got.every((f) => f.seq === 1)).toBe(true);
    expect(hub.outputCounters().mjpeg.repeated).toBeGreaterThanOrEqual(2);
    hub.close();
  });

  test('unsubscribe stops delivery and updates the viewer count', async () => {
    const hub = new JpegHub();
    const got: Frame[] = [];
    const sub = hub.subscribe(collect(got), { output: 'mjpeg' });
    hub.publish(img(1));
    sub.unsubscribe();
    hub.publish(img(2));
    await sleep(10);
    expect(got.length).toBe(1);
    expect(hub.outputCounters().mjpeg.viewers).toBe(0);
  });

  test('nextFrame waits for a newer frame or times out with null', async () => {
    const hub = new JpegHub();
    expect(await hub.nextFrame(50)).toBeNull();
    setTimeout(() => hub.publish(img(1)), 20);
    expect((await hub.nextFrame(2000))?.seq).toBe(1);
  });
});
