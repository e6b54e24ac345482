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

/** A kernel whose queue for the one socket is set by the test. */
class FakeKernel {
  available = true;
  queue = 0;
  asked = 0;
  queued(): Promise<number | null> {
    this.asked++;
    return Promise.resolve(this.queue);
  }
}

describe('FreshPacer', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  test('a viewer that keeps up is never held; one that falls behind waits for the kernel, then recovers', async () => {
    const kernel = new FakeKernel();
    const socket = new Socket();
    const pacer = new FreshPacer(socket, kernel as unknown as KernelQueues);
    const nexts: number[] = [];
    const send = (bytes: number) =>
      pacer.deliver(
        bytes,
        (written) => written(true),
        () => nexts.push(bytes),
      );
    send(10_000);
    await jest.advanceTimersByTimeAsync(0);
    expect(nexts).toEqual([10_000]);
    expect(pacer.status().paced).toBe(false);

    // The check finds more queued than the picture just written: behind, so paced from now on.
    kernel.queue = 30_000;
    await jest.advanceTimersByTimeAsync(600);
    send(10_000);
    await jest.advanceTimersByTimeAsync(0);
    expect(nexts).toHaveLength(2); // this one still went at once; the check came after it
    expect(pacer.status().paced).toBe(true);
    send(10_000);
    await jest.advanceTimersByTimeAsync(1000);
    expect(nexts).toHaveLength(2); // held while the kernel holds 30 KB
    // The kernel drains 10 KB per 500 ms: the rate is measured and the picture goes at the low mark.
    for (let i = 0; i < 6 && nexts.length < 3; i++) {
      kernel.queue = Math.max(0, kernel.queue - 10_000);
      await jest.advanceTimersByTimeAsync(500);
    }
    expect(nexts).toHaveLength(3);
    expect(pacer.status().waits).toBe(1);
    const rate = pacer.status().drain_bytes_per_s;
    expect(rate).toBeGreaterThan(10_000);
    expect(rate).toBeLessThan(40_000);
    expect(pacer.pictureBudget(1000)).toBeCloseTo(rate ?? 0, -3);

    // Five pictures in a row that drained at once: fast again.
    kernel.queue = 0;
    for (let i = 0; i < 5; i++) {
      send(1000);
      await jest.advanceTimersByTimeAsync(25);
    }
    expect(nexts).toHaveLength(8);
    expect(pacer.status().paced).toBe(false);
  });

  test('a new viewer on a slow link is found behind by its second picture: no backlog of its first second', async () => {
    const kernel = new FakeKernel();
    const pacer = new FreshPacer(new Socket(), kernel as unknown as KernelQueues);
    const nexts: number[] = [];
    // 30 fps of 30 KB pictures offered; the link drains 2 KB every 33 ms (60 KB/s).
    let inFlight = false;
    let most = 0;
    const offer = () => {
      if (inFlight) return;
      inFlight = true;
      pacer.deliver(
        30_000,
        (written) => {
          kernel.queue += 30_000;
          most = Math.max(most, kernel.queue);
          written(true);
        },
        () => {
          inFlight = false;
          nexts.push(Date.now());
        },
      );
    };
    for (let t = 0; t < 2000; t += 33) {
      offer();
      kernel.queue = Math.max(0, kernel.queue - 2000);
      await jest.advanceTimersByTimeAsync(33);
    }
    // Two pictures went at once, then each waited for the link: the kernel never held three.
    expect(pacer.status().paced).toBe(true);
    expect(most).toBeLessThan(3 * 30_000);
    expect(nexts.length).toBeGreaterThanOrEqual(3);
    expect(nexts.length).toBeLessThanOrEqual(7);
  });

  test('a viewer that keeps up is never held, and is checked only a few times once known', async () => {
    const kernel = new FakeKernel();
    const pacer = new FreshPacer(new Socket(), kernel as unknown as KernelQueues);
    let nexts = 0;
    for (let i = 0; i < 30; i++) {
      pacer.deliver(
        10_000,
        (written) => written(true),
        () => nexts++,
      );
      await jest.advanceTimersByTimeAsync(33);
    }
    expect(nexts).toBe(30);
    expect(pacer.status().paced).toBe(false);
    // 30 pictures in a second: 4 early checks, then after 64, 128 and 256 KB (or 0.5 s).
    expect(kernel.asked).toBeLessThanOrEqual(8);
  });

  test('a viewer that keeps up is checked after CHECK_EVERY_BYTES even within CHECK_EVERY_MS', async () => {
    const kernel = new FakeKernel();
    const pacer = new FreshPacer(new Socket(), kernel as unknown as KernelQueues);
    const send = (bytes: number) =>
      pacer.deliver(
        bytes,
        (written) => written(true),
        () => {},
      );
    // Past its early checks and the first byte steps (64 + 128 + 256 KB), at under 0.5 s.
    for (let i = 0; i < 15; i++) {
      send(50_000);
      await jest.advanceTimersByTimeAsync(1);
    }
    expect(pacer.status().paced).toBe(false);
    const asked = kernel.asked;
    kernel.queue = 400_000;
    for (let i = 0; i < 5; i++) {
      send(100_000);
      await jest.advanceTimersByTimeAsync(1);
    }
    expect(kernel.asked).toBe(asked); // 500 KB in 5 ms: not yet
    send(100_000);
    await jest.advanceTimersByTimeAsync(1);
    expect(kernel.asked).toBe(asked + 1); // 600 KB: checked, 400 KB still queued
    expect(pacer.status().paced).toBe(true);
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
