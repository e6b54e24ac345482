import { Socket } from 'node:net';
import { FreshPacer } from '../../src/serve/pacing/fresh-pacer';
import type { KernelQueues } from '../../src/serve/pacing/kernel-queues';
import { canonicalIp, connectionKey, parseProcNetTcp } from '../../src/serve/pacing/proc-net-tcp';

describe('parseProcNetTcp', () => {
  const tcp4 = [
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    '   0: 0100007F:1F9A 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 1 1 0',
    '   1: 0100007F:1F9A 0200007F:C350 01 0001E240:00000000 01:00000014 00000000  1000        0 2 1 0',
    '   2: 6401A8C0:1770 1401A8C0:D431 01 00000000:00000010 00:00000000 00000000  1000        0 3 1 0',
    '   3: garbage line',
    '   4: 0100007F:ZZZZ 0200007F:C350 01 00000010:00000000 00:00000000 00000000  1000        0 4 1 0',
  ].join('\n');
  const tcp6 = [
    '  sl  local_address                         remote_address                        st tx_queue rx_queue',
    // ::ffff:127.0.0.1 port 8090 ← ::ffff:127.0.0.1 port 40000, 4096 bytes queued
    '   0: 0000000000000000FFFF00000100007F:1F9A 0000000000000000FFFF00000100007F:9C40 01 00001000:00000000 00:00000000 00000000 0 0 5',
    // 2001:db8::1 port 6000 ← 2001:db8::2 port 50000
    '   1: B80D0120000000000000000001000000:1770 B80D0120000000000000000002000000:C350 01 00000007:00000000 00:00000000 00000000 0 0 6',
  ].join('\n');

  test('established connections with their tx_queue, IPv4, IPv4-mapped and IPv6 (little-endian host)', () => {
    const table = parseProcNetTcp(tcp6, true, parseProcNetTcp(tcp4, true));
    expect(Object.fromEntries(table)).toEqual({
      [connectionKey('127.0.0.1', 8090, '127.0.0.2', 50000)]: 123456,
      [connectionKey('192.168.1.100', 6000, '192.168.1.20', 54321)]: 0,
      [connectionKey('127.0.0.1', 8090, '127.0.0.1', 40000)]: 4096,
      [connectionKey(canonicalIp('2001:db8::1')!, 6000, canonicalIp('2001:db8::2')!, 50000)]: 7,
    });
  });

  test('a big-endian host prints words in network order', () => {
    const line = '   1: 7F000001:1F9A 7F000002:C350 01 00000005:00000000 00:00000000 00000000 0 0 2';
    expect([...parseProcNetTcp(line, false)]).toEqual([
      [connectionKey('127.0.0.1', 8090, '127.0.0.2', 50000), 5],
    ]);
  });

  test('canonical addresses match what Node reports', () => {
    expect(canonicalIp('::ffff:10.0.0.1')).toBe('10.0.0.1');
    expect(canonicalIp('::1')).toBe('0:0:0:0:0:0:0:1');
    expect(canonicalIp('not an address')).toBeNull();
  });
});

/** A kernel whose census the test runs by hand. */
class FakeKernel {
  available = true;
  queue = 0;
  intervals: number[] = [];
  private listener: ((q: number | null, at: number) => void) | null = null;
  watch(_socket: Socket, everyMs: number, onSample: (q: number | null, at: number) => void) {
    this.intervals.push(everyMs);
    this.listener = onSample;
    return {
      setInterval: (ms: number) => this.intervals.push(ms),
      close: () => {
        this.listener = null;
      },
    };
  }
  /** One census: the pacer learns what the kernel holds now. */
  sample(): void {
    this.listener?.(this.queue, Date.now());
  }
}

describe('FreshPacer', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  test('a viewer that keeps up is never held; one that falls behind waits for the kernel, then recovers', async () => {
    const kernel = new FakeKernel();
    const pacer = new FreshPacer(new Socket(), kernel as unknown as KernelQueues);
    const nexts: number[] = [];
    const send = (bytes: number) =>
      pacer.deliver(
        bytes,
        (written) => written(true),
        () => nexts.push(bytes),
      );
    send(10_000);
    expect(nexts).toEqual([10_000]);
    expect(pacer.status().paced).toBe(false);
    // A new viewer is looked at every second during its warm-up (WARMUP_MS), so a slow one is found at once.
    expect(kernel.intervals).toEqual([1000]);

    // A census finds more queued than the picture just written: behind, so paced (and looked at every second).
    kernel.queue = 30_000;
    kernel.sample();
    expect(pacer.status().paced).toBe(true);
    expect(kernel.intervals.at(-1)).toBe(1000);
    send(10_000);
    await jest.advanceTimersByTimeAsync(1000);
    expect(nexts).toHaveLength(1); // held: the kernel holds 40 KB and no rate is known yet
    // The kernel drains 10 KB per second: two censuses give the rate, then the picture goes on time.
    for (let i = 0; i < 6 && nexts.length < 2; i++) {
      kernel.queue = Math.max(0, kernel.queue - 10_000 + (i === 0 ? 10_000 : 0));
      kernel.sample();
      await jest.advanceTimersByTimeAsync(1000);
    }
    expect(nexts).toHaveLength(2);
    expect(pacer.status().waits).toBe(1);
    const rate = pacer.status().drain_bytes_per_s ?? 0;
    expect(rate).toBeGreaterThan(5_000);
    expect(rate).toBeLessThan(20_000);
    expect(pacer.pictureBudget(1000)).toBeCloseTo(rate, -3);

    // Between censuses the estimate goes on: 8 KB written at 10 KB/s is through in under a second.
    kernel.queue = 0;
    kernel.sample();
    send(8000);
    expect(nexts).toHaveLength(2);
    await jest.advanceTimersByTimeAsync(900);
    expect(nexts).toHaveLength(3);

    // Five pictures in a row that are through at once: fast again.
    for (let i = 0; i < 5; i++) {
      kernel.sample();
      send(100);
      await jest.advanceTimersByTimeAsync(10);
    }
    expect(nexts).toHaveLength(8);
    expect(pacer.status().paced).toBe(false);
    // Once its warm-up is over, a viewer that keeps up is looked at every 5 s.
    await jest.advanceTimersByTimeAsync(10_000);
    kernel.sample();
    expect(kernel.intervals.at(-1)).toBe(5000);
  });

  test('a closed pacer or a failed write never calls next', async () => {
    const kernel = new FakeKernel();
    const pacer = new FreshPacer(new Socket(), kernel as unknown as KernelQueues);
    const next = jest.fn();
    pacer.deliver(100, (written) => written(false), next);
    pacer.close();
    pacer.deliver(100, (written) => written(true), next);
    await jest.advanceTimersByTimeAsync(1000);
    expect(next).not.toHaveBeenCalled();
  });

  test('without /proc it measures the rate from writes that blocked, and never waits', async () => {
    const pacer = new FreshPacer(new Socket(), null);
    const next = jest.fn();
    for (let i = 0; i < 4; i++) {
      pacer.deliver(
        8000,
        (written) => {
          setTimeout(() => written(true), 250); // the kernel buffer was full: 8 KB per 250 ms
        },
        next,
      );
      await jest.advanceTimersByTimeAsync(250);
    }
    expect(next).toHaveBeenCalledTimes(4);
    expect(pacer.status().drain_bytes_per_s).toBe(32_000);
  });
});
