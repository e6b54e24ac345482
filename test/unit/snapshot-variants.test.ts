import sharp from 'sharp';
import { jpegSize } from '../../src/protocol/jpeg';
import { planVariant, WIDTH_BUCKETS } from '../../src/serve/http/snapshot';
import { QueueFull, WorkQueue } from '../../src/serve/http/work-queue';

const SOURCE = { width: 1280, height: 720 };

describe('planVariant', () => {
  test('never larger than the source: a bigger box is the original', () => {
    expect(planVariant({ width: 3840, height: 2160 }, SOURCE)).toEqual({ width: null, quality: null });
    expect(planVariant({ width: 1280 }, SOURCE)).toEqual({ width: null, quality: null });
    expect(planVariant({ height: 5000, quality: 55 }, SOURCE)).toEqual({ width: null, quality: 50 });
  });

  test('widths snap down to a bucket; the height limits the width by the aspect ratio', () => {
    expect(planVariant({ width: 639 }, SOURCE)).toEqual({ width: 480, quality: 80 });
    expect(planVariant({ width: 640 }, SOURCE)).toEqual({ width: 640, quality: 80 });
    expect(planVariant({ height: 180 }, SOURCE)).toEqual({ width: 320, quality: 80 });
    expect(planVariant({ width: 1000, height: 200 }, SOURCE)).toEqual({ width: 320, quality: 80 });
    expect(planVariant({ width: 16, quality: 100 }, SOURCE)).toEqual({ width: 16, quality: 100 });
    expect(planVariant({ width: 1279, quality: 9 }, SOURCE)).toEqual({ width: 960, quality: 10 });
  });

  test('every box and quality lands on few variants', () => {
    const seen = new Set<string>();
    for (let w = 16; w <= 3840; w += 7)
      for (let q = 1; q <= 100; q += 3)
        seen.add(JSON.stringify(planVariant({ width: w, quality: q }, SOURCE)));
    expect(seen.size).toBeLessThanOrEqual(WIDTH_BUCKETS.length * 10);
  });

  test('a source of unknown size is never resized', () => {
    expect(planVariant({ width: 320 }, null)).toEqual({ width: null, quality: null });
  });
});

describe('jpegSize', () => {
  test('reads baseline and progressive frame headers; null for anything else', async () => {
    const img = sharp({ create: { width: 333, height: 77, channels: 3, background: '#123456' } });
    expect(jpegSize(await img.clone().jpeg().toBuffer())).toEqual({ width: 333, height: 77 });
    expect(jpegSize(await img.clone().jpeg({ progressive: true }).toBuffer())).toEqual({
      width: 333,
      height: 77,
    });
    expect(jpegSize(Buffer.from([0xff, 0xd8, 0xff, 0xda, 0, 2]))).toBeNull();
    expect(jpegSize(Buffer.from('not a jpeg'))).toBeNull();
    expect(jpegSize(Buffer.from([0xff, 0xd8, 0xff, 0xc0, 0, 1]))).toBeNull();
  });
});

describe('WorkQueue', () => {
  test('runs at most `concurrency` jobs, queues `maxWaiting`, refuses the rest at once', async () => {
    const q = new WorkQueue(2, 3);
    let running = 0;
    let peak = 0;
    const gates: (() => void)[] = [];
    const job = () =>
      new Promise<number>((resolve) => {
        running++;
        peak = Math.max(peak, running);
        gates.push(() => {
          running--;
          resolve(peak);
        });
      });
    const accepted = Array.from({ length: 5 }, () => q.run(job));
    await expect(q.run(job)).rejects.toBeInstanceOf(QueueFull);
    expect([q.running, q.queued, q.refused]).toEqual([2, 3, 1]);
    while (gates.length) {
      gates.shift()?.();
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(accepted);
    expect(peak).toBe(2);
    expect([q.running, q.queued]).toEqual([0, 0]);
    await expect(q.run(async () => 'again')).resolves.toBe('again');
  });
});
