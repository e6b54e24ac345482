import { Logger, setLogSink } from '../../src/log';
import { AddressGuard, type Admission, type Attempt } from '../../src/serve/guard/address-guard';
import { addressKey } from '../../src/serve/guard/address-key';

const lines: string[] = [];
let restore: ReturnType<typeof setLogSink>;
beforeEach(() => {
  jest.useFakeTimers({ now: new Date('2025-01-01T00:00:00Z') });
  lines.length = 0;
  restore = setLogSink((line) => lines.push(line));
});
afterEach(() => {
  setLogSink(restore);
  jest.useRealTimers();
});

const log = new Logger(['p1', 'native']);
function admitted(a: Admission): Attempt {
  if (!a.ok) throw new Error(`refused: ${a.reason}`);
  return a.attempt;
}
/** Sum of "<n> <words>" over every logged line. */
function loggedCount(words: RegExp): number {
  let n = 0;
  for (const line of lines)
    for (const m of line.matchAll(new RegExp(`(\\d+) ${words.source}`, 'g'))) n += Number(m[1]);
  return n;
}

describe('addressKey', () => {
  test.each([
    ['127.0.0.1', '127.0.0.1'],
    ['::ffff:192.168.1.7', '192.168.1.7'],
    ['::ffff:c0a8:107', '192.168.1.7'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::99', '2001:db8:1:2::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    [undefined, 'unknown'],
  ])('%s → %s', (address, key) => {
    expect(addressKey(address)).toBe(key);
  });
});

describe('AddressGuard', () => {
  test('unauthenticated connections are capped per address; viewers and other addresses are not affected', () => {
    const guard = new AddressGuard({ log, limits: { pendingPerAddress: 3 } });
    const flood = [1, 2, 3].map(() => admitted(guard.admit('10.0.0.9', () => {})));
    expect(guard.admit('10.0.0.9', () => {})).toEqual({ ok: false, reason: 'address_limit' });
    // The same host over a dual-stack socket is the same address.
    expect(guard.admit('::ffff:10.0.0.9', () => {})).toEqual({ ok: false, reason: 'address_limit' });
    const viewer = admitted(guard.admit('10.0.0.2', () => {}));
    viewer.authenticated();
    // An authenticated viewer leaves the counts: its address can open 3 more.
    for (let i = 0; i < 3; i++) admitted(guard.admit('10.0.0.2', () => {}));
    flood[0].closed();
    admitted(guard.admit('10.0.0.9', () => {}));
    const s = guard.status();
    expect(s).toMatchObject({
      admitted: 8,
      authenticated: 1,
      abandoned: 1,
      refused: 2,
      refused_address_limit: 2,
      pending: 6,
    });
    guard.stop();
  });

  test('at the total limit a newcomer from a quieter address evicts the oldest of the largest holder', () => {
    const guard = new AddressGuard({ log, limits: { pendingPerAddress: 4, pendingTotal: 8 } });
    const evicted: string[] = [];
    for (const a of ['10.0.0.1', '10.0.0.2']) {
      for (let i = 0; i < 4; i++) admitted(guard.admit(a, () => evicted.push(`${a}#${i}`)));
    }
    // 10.0.0.3 has nothing pending: it takes the place of 10.0.0.1's oldest.
    const newcomer = admitted(guard.admit('10.0.0.3', () => evicted.push('newcomer')));
    expect(evicted).toEqual(['10.0.0.1#0']);
    // 10.0.0.2 (4 pending) is now the largest holder; 10.0.0.1 (3) and 10.0.0.3 (1) get in in turn.
    admitted(guard.admit('10.0.0.1', () => {}));
    expect(evicted).toEqual(['10.0.0.1#0', '10.0.0.2#0']);
    admitted(guard.admit('10.0.0.3', () => {}));
    // Now every address holds 3 but 10.0.0.3 (2): a fourth from 10.0.0.1 finds nobody larger.
    expect(guard.admit('10.0.0.1', () => {})).toEqual({ ok: false, reason: 'total_limit' });
    newcomer.authenticated();
    expect(guard.status()).toMatchObject({ evicted: 3, refused_total_limit: 1, pending: 7 });
    guard.stop();
  });

  test('failures step up: delays of 1, 5 and 30 s, then refusal for a while, then forgiven', () => {
    const guard = new AddressGuard({ log });
    const fail = () => {
      const a = admitted(guard.admit('10.0.0.66', () => {}));
      const delay = a.verdictDelayMs();
      a.failed();
      a.closed();
      return delay;
    };
    expect([fail(), fail(), fail(), fail(), fail()]).toEqual([0, 0, 0, 0, 0]);
    // Five failures within a minute: every verdict is delayed now, one attempt at a time.
    const slow = admitted(guard.admit('10.0.0.66', () => {}));
    expect(guard.admit('10.0.0.66', () => {})).toEqual({ ok: false, reason: 'address_limit' });
    expect(slow.verdictDelayMs()).toBe(1000);
    slow.failed();
    slow.closed();
    expect(fail()).toBe(5000);
    expect(fail()).toBe(30_000);
    expect(guard.status()).toMatchObject({ failures: 8, delayed: 3, addresses_blocked: 1 });
    // Refused for 10 minutes; others are not.
    expect(guard.admit('10.0.0.66', () => {})).toEqual({ ok: false, reason: 'blocked' });
    admitted(guard.admit('10.0.0.67', () => {})).authenticated();
    jest.advanceTimersByTime(599_000);
    expect(guard.admit('10.0.0.66', () => {})).toEqual({ ok: false, reason: 'blocked' });
    jest.advanceTimersByTime(1000);
    // Afterwards it starts at the last delay step, and the next failure refuses it again.
    expect(fail()).toBe(30_000);
    expect(guard.admit('10.0.0.66', () => {})).toEqual({ ok: false, reason: 'blocked' });
    // Ten quiet minutes after the refusal ends, it is forgiven.
    jest.advanceTimersByTime(1_200_000);
    expect(fail()).toBe(0);
    expect(guard.status().addresses_blocked).toBe(0);
    guard.stop();
  });

  test('an address that authenticated recently is only ever delayed by the first step, never refused', () => {
    const guard = new AddressGuard({ log });
    admitted(guard.admit('10.0.0.20', () => {})).authenticated(); // Frigate's host: one camera is fine
    const delays = [];
    for (let i = 0; i < 30; i++) {
      const a = admitted(guard.admit('10.0.0.20', () => {})); // another camera's password is wrong
      delays.push(a.verdictDelayMs());
      a.failed();
      a.closed();
    }
    expect(new Set(delays.slice(5))).toEqual(new Set([1000]));
    // Its other clients are not held to one attempt at a time.
    const others = [1, 2, 3].map(() => admitted(guard.admit('10.0.0.20', () => {})));
    for (const o of others) o.authenticated();
    expect(guard.status()).toMatchObject({ addresses_blocked: 0, refused: 0, failures: 30 });
    // Trust lasts refuse_s after the last success; then failures escalate as for anyone.
    jest.advanceTimersByTime(600_000);
    for (let i = 0; i < 8; i++) {
      const a = admitted(guard.admit('10.0.0.20', () => {}));
      a.failed();
      a.closed();
    }
    expect(guard.admit('10.0.0.20', () => {})).toEqual({ ok: false, reason: 'blocked' });
    guard.stop();
  });

  test('failures spread wider than the window are never delayed', () => {
    const guard = new AddressGuard({ log });
    for (let i = 0; i < 20; i++) {
      const a = admitted(guard.admit('10.0.0.5', () => {}));
      expect(a.verdictDelayMs()).toBe(0);
      a.failed();
      a.closed();
      jest.advanceTimersByTime(15_000); // 4 per minute
    }
    expect(guard.status()).toMatchObject({ failures: 20, delayed: 0, addresses_delayed: 0 });
    guard.stop();
  });

  test('a connection with several tries (Digest) may retry until a few failures or a penalty', () => {
    const guard = new AddressGuard({ log });
    const a = admitted(guard.admit('10.0.0.8', () => {}));
    expect(a.failed()).toEqual({ mayRetry: true });
    expect(a.failed()).toEqual({ mayRetry: true });
    expect(a.failed()).toEqual({ mayRetry: false });
    a.closed();
    const b = admitted(guard.admit('10.0.0.8', () => {}));
    b.failed();
    expect(b.failed()).toEqual({ mayRetry: false }); // the fifth failure: the address is delayed now
    b.closed();
    expect(guard.status()).toMatchObject({ failures: 5, abandoned: 0 });
    guard.stop();
  });

  test('log lines are aggregated per interval, first at once, and add up exactly to the counters', () => {
    const guard = new AddressGuard({ log, limits: { pendingPerAddress: 2 }, logEveryMs: 10_000 });
    const round = (address: string, n: number) => {
      for (let i = 0; i < n; i++) {
        const r = guard.admit(address, () => {});
        if (r.ok) {
          r.attempt.failed();
          r.attempt.closed();
        }
      }
    };
    round('10.1.0.1', 1);
    expect(lines).toHaveLength(1); // the first event is logged at once
    expect(lines[0]).toMatch(/WARN {2}\[p1\] \[native\] 1 failed authentication from 10\.1\.0\.1$/);
    round('10.1.0.1', 2000);
    round('10.1.0.2', 3);
    expect(lines).toHaveLength(1);
    jest.advanceTimersByTime(10_000);
    expect(lines).toHaveLength(2);
    round('10.1.0.3', 4);
    jest.advanceTimersByTime(3000);
    // The owner stops before the interval ends: the last burst is written, not lost.
    guard.stop();
    expect(lines).toHaveLength(3);
    const s = guard.status();
    expect(loggedCount(/failed authentications?/)).toBe(s.failures);
    expect(loggedCount(/connections? refused from (a )?blocked address(es)?/)).toBe(s.refused_blocked);
    expect(loggedCount(/connections? over the per-address limit/)).toBe(s.refused_address_limit);
    expect(s.failures + s.refused).toBe(2008);
    expect(lines.join('\n')).toMatch(/10\.1\.0\.1 is refused for 600 s after 8 failures/);
    jest.advanceTimersByTime(60_000);
    expect(lines).toHaveLength(3);
  });

  test('idle addresses are forgotten; the number remembered is bounded', () => {
    const guard = new AddressGuard({ log, maxAddresses: 100 });
    for (let i = 0; i < 1000; i++) {
      const a = admitted(guard.admit(`10.2.${i >> 8}.${i & 255}`, () => {}));
      a.failed();
      a.closed();
    }
    expect(guard.trackedAddresses).toBeLessThanOrEqual(100);
    jest.advanceTimersByTime(120_000);
    expect(guard.trackedAddresses).toBe(0);
    guard.stop();
  });
});
