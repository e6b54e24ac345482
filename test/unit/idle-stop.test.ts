/**
 * Resources follow demand (fake timers): a transcoder starts with its first reader and stops the
 * idle delay after the last one left; the HLS muxer stops after the idle delay without requests and
 * lets go of the stream, which in turn arms the transcoder's idle stop.
 */
import { HlsMuxer } from '../../src/hls/hls-muxer';
import { Demand } from '../../src/hub/demand';
import { H264Stream } from '../../src/hub/h264-stream';
import { rootLogger } from '../../src/log';

const sink = { send: (_u: unknown, done: () => void) => done(), close: () => {} };

describe('idle stop (fake timers)', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  test('a transcoder starts with the first reader and stops the idle delay after the last one left', () => {
    const stream = new H264Stream('t');
    const events: string[] = [];
    const demand = new Demand(
      10_000,
      () => events.push('start'),
      () => events.push('stop'),
    );
    stream.on('demand', (n: number) => demand.wanted(n));
    const a = stream.subscribe(sink, { output: 'rtsp' });
    const b = stream.subscribe(sink, { output: 'hls' });
    expect(events).toEqual(['start', 'start']); // start() is idempotent in the transcoders
    a.unsubscribe();
    jest.advanceTimersByTime(60_000);
    expect(events).not.toContain('stop'); // b still reads
    b.unsubscribe();
    jest.advanceTimersByTime(9_999);
    expect(events).not.toContain('stop');
    jest.advanceTimersByTime(1);
    expect(events.filter((e) => e === 'stop')).toHaveLength(1);
  });

  test('a reader arriving during the idle delay cancels the stop', () => {
    const events: string[] = [];
    const demand = new Demand(
      5_000,
      () => events.push('start'),
      () => events.push('stop'),
    );
    demand.wanted(1);
    demand.wanted(0);
    jest.advanceTimersByTime(4_000);
    expect(demand.stopping).toBe(true);
    demand.wanted(1);
    expect(demand.stopping).toBe(false);
    jest.advanceTimersByTime(60_000);
    expect(events).toEqual(['start', 'start']);
  });

  test('a snapshot wants the decoder once: it stops after the delay unless a viewer arrives', () => {
    const events: string[] = [];
    const demand = new Demand(
      5_000,
      () => events.push('start'),
      () => events.push('stop'),
    );
    demand.touch(false);
    jest.advanceTimersByTime(5_000);
    expect(events).toEqual(['start', 'stop']);
    demand.touch(true); // a viewer is there: no stop armed
    jest.advanceTimersByTime(60_000);
    expect(events).toEqual(['start', 'stop', 'start']);
  });

  test('the HLS muxer stops after its idle delay without requests, and releases the stream', () => {
    const stream = new H264Stream('t');
    const muxer = new HlsMuxer({ stream, log: rootLogger.child('test'), idleStopMs: 3_000 });
    const demands: number[] = [];
    stream.on('demand', (n: number) => demands.push(n));
    muxer.touch();
    expect(muxer.running).toBe(true);
    expect(stream.demand).toBe(1);
    jest.advanceTimersByTime(2_000);
    muxer.touch(); // a request pushes the stop back
    jest.advanceTimersByTime(2_500);
    expect(muxer.running).toBe(true);
    jest.advanceTimersByTime(1_000);
    expect(muxer.running).toBe(false);
    expect(stream.demand).toBe(0);
    expect(demands).toEqual([1, 0]);
    muxer.close();
  });
});
