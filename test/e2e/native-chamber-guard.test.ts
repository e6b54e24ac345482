/**
 * Issue 13, findings 1 and 2 on the native :6000 server: a flood of sockets that never authenticate
 * must not lock viewers out, and guessing codes is slowed down, then refused, with exact counts in the
 * API, the metrics and the log. Strangers connect from other loopback addresses (127.0.0.2, ...), the
 * real clients from 127.0.0.1.
 */
import { Socket } from 'node:net';
import { connect } from 'node:tls';
import { encodeAuthPacket } from '../../src/protocol/chamber';
import type { GuardStatusJson } from '../../src/serve/guard/address-guard';
import { captureLogs, type Gateway, httpGet, httpJson, spec, startGateway, waitFor } from '../helpers';
import { StrictChamberClient } from '../native-client';

jest.setTimeout(120_000);

interface NativeStatus {
  auth_failures: number;
  viewers: unknown[];
  guard: GuardStatusJson;
}
const nativePort = (gw: Gateway) => gw.app.nativeChamber.servers.get(gw.fleet[0].spec.id)!.port;
const native = async (gw: Gateway) =>
  (await httpJson<{ printers: { native: { chamber: NativeStatus } }[] }>(`${gw.base}/api/printers`))
    .printers[0].native.chamber;

/** Keeps `count` plain TCP sockets open from `localAddress`, reopening each one shortly after it closes. */
class Flood {
  opened = 0;
  private stopped = false;
  private readonly sockets = new Set<Socket>();

  constructor(
    private readonly port: number,
    private readonly localAddress: string,
    count: number,
  ) {
    for (let i = 0; i < count; i++) this.open();
  }

  private open(): void {
    if (this.stopped) return;
    this.opened++;
    const s = new Socket();
    this.sockets.add(s);
    s.on('error', () => {});
    s.once('close', () => {
      this.sockets.delete(s);
      setTimeout(() => this.open(), 50);
    });
    s.connect({ port: this.port, host: '127.0.0.1', localAddress: this.localAddress });
  }

  stop(): void {
    this.stopped = true;
    for (const s of this.sockets) s.destroy();
  }
}

interface Guess {
  /** The TLS handshake completed (refused addresses are closed before it). */
  handshake: boolean;
  /** Bytes the server sent after the handshake. */
  bytes: number;
  /** ms from sending the auth packet to the server's close. */
  verdictMs: number;
}

/** One connection from `localAddress` offering `code`; resolves when the server closed it. */
function guess(port: number, code: string, localAddress: string): Promise<Guess> {
  return new Promise((resolve) => {
    let handshake = false;
    let bytes = 0;
    let sentAt = 0;
    const raw = new Socket().connect({ host: '127.0.0.1', port, localAddress });
    raw.on('error', () => {});
    const s = connect({ socket: raw, rejectUnauthorized: false }, () => {
      handshake = true;
      sentAt = Date.now();
      s.write(encodeAuthPacket(code));
    });
    s.on('data', (c: Buffer) => {
      bytes += c.length;
    });
    s.on('error', () => {});
    s.once('close', () => resolve({ handshake, bytes, verdictMs: sentAt ? Date.now() - sentAt : 0 }));
    setTimeout(() => s.destroy(), 20_000).unref();
  });
}

describe('native :6000 per-address limits', () => {
  let gw: Gateway | undefined;
  const clients: StrictChamberClient[] = [];
  const floods: Flood[] = [];
  afterEach(async () => {
    for (const f of floods.splice(0)) f.stop();
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await gw?.stop();
    gw = undefined;
  });

  test('a 256-socket flood neither stops a streaming viewer nor keeps new viewers out', async () => {
    // Flood sockets stay pending for 30 s (the auth limit), so the total stays full while the late
    // viewers arrive; with a short limit they all timed out together and a newcomer could slip into
    // the gap without evicting anyone.
    gw = await startGateway([spec({ fps: 10 })], { tuning: { nativeAuthTimeoutMs: 30_000 } });
    const g = gw;
    const port = nativePort(g);
    const code = g.fleet[0].spec.accessCode;
    const streaming = new StrictChamberClient({ port, code });
    clients.push(streaming);
    await streaming.waitForFrames(2);

    // One address with 256 sockets: 32 wait for their auth limit, the rest are closed at once.
    floods.push(new Flood(port, '127.0.0.2', 256));
    await waitFor(async () => (await native(g)).guard.refused_address_limit >= 224, 20_000, 'refusals');
    let s = await native(g);
    expect(s.guard.pending).toBeLessThanOrEqual(32);
    const newcomers = Array.from({ length: 15 }, () => new StrictChamberClient({ port, code }));
    clients.push(...newcomers);
    await Promise.all(newcomers.map((c) => c.waitForFrames(2, 30_000)));

    // Seven more addresses with 32 sockets each fill the total of 256: newcomers from a quiet
    // address still get in, by closing the oldest waiting socket of the largest holder.
    for (let i = 3; i < 10; i++) floods.push(new Flood(port, `127.0.0.${i}`, 32));
    await waitFor(async () => (await native(g)).guard.pending === 256, 20_000, 'the total limit to fill');
    const late = Array.from({ length: 15 }, () => new StrictChamberClient({ port, code }));
    clients.push(...late);
    await Promise.all(late.map((c) => c.waitForFrames(2, 30_000)));

    const before = streaming.frames.length;
    await streaming.waitForFrames(before + 10, 30_000);
    for (const c of [streaming, ...newcomers, ...late]) expect(c.violation).toBeNull();
    s = await native(g);
    expect(s.viewers).toHaveLength(31);
    // The first late viewer arrived at a full total (no flood socket ends before its 30 s limit):
    // it closed a waiting flood socket. Later ones find room as earlier ones authenticate.
    expect(s.guard.evicted).toBeGreaterThan(0);
    expect(s.guard.pending).toBeLessThanOrEqual(256);
    expect(s.guard.authenticated).toBe(31);
    expect(s.auth_failures).toBe(0);
    const metrics = (await httpGet(`${g.base}/metrics`)).body.toString();
    const id = g.fleet[0].spec.id;
    const value = (line: string) => Number(new RegExp(`^${line} (\\d+)$`, 'm').exec(metrics)?.[1]);
    expect(
      value(
        `bambucam_connections_refused_total\\{printer="${id}",output="native_chamber",reason="address_limit"\\}`,
      ),
    ).toBeGreaterThanOrEqual(224);
    expect(
      value(`bambucam_connections_evicted_total\\{printer="${id}",output="native_chamber"\\}`),
    ).toBeGreaterThan(0);
    // The upstream never noticed.
    expect(g.fleet[0].camera.stats.tcpConnections).toBe(1);
  });

  test('guessing codes: delayed after a few failures, then refused; exact counts in the API, metrics and log', async () => {
    const logs = captureLogs('info');
    try {
      gw = await startGateway([spec({ fps: 10 })], {
        config: { limits: { failures_before_delay: 3, delays_s: [1, 2], refuse_s: 600 } },
      });
      const g = gw;
      const port = nativePort(g);
      const code = g.fleet[0].spec.accessCode;
      const viewer = new StrictChamberClient({ port, code });
      clients.push(viewer);
      await viewer.waitForFrames(2);

      const attacker = '127.0.0.2';
      const quick = [];
      for (let i = 0; i < 3; i++) quick.push(await guess(port, `wrong-${i}`, attacker));
      for (const r of quick) expect(r).toMatchObject({ handshake: true, bytes: 0 });
      // Three failures within the window: the next verdicts wait 1 s, then 2 s, one attempt at a time.
      const delayed = guess(port, 'wrong-3', attacker);
      await waitFor(async () => (await native(g)).guard.pending === 1, 5000, 'the delayed attempt');
      const second = await guess(port, code, attacker); // even the right code waits its turn
      expect(second.handshake).toBe(false);
      const d1 = await delayed;
      expect(d1).toMatchObject({ handshake: true, bytes: 0 });
      expect(d1.verdictMs).toBeGreaterThanOrEqual(950);
      const d2 = await guess(port, 'wrong-4', attacker);
      expect(d2.verdictMs).toBeGreaterThanOrEqual(1950);
      // A wrong code at the last step: the address is refused now, before any TLS, the right code too.
      const refusedGuesses = await Promise.all(
        Array.from({ length: 100 }, (_, i) => guess(port, i === 0 ? code : `wrong-${6 + i}`, attacker)),
      );
      for (const r of refusedGuesses) expect(r).toEqual({ handshake: false, bytes: 0, verdictMs: 0 });

      // Others are not affected: a new viewer from another address, and the one streaming.
      const other = new StrictChamberClient({ port, code });
      clients.push(other);
      await other.waitForFrames(2);
      const before = viewer.frames.length;
      await viewer.waitForFrames(before + 5);

      const s = await native(g);
      expect(s.auth_failures).toBe(5);
      expect(s.guard).toMatchObject({
        failures: 5,
        delayed: 2,
        refused_blocked: 100,
        refused_address_limit: 1,
        addresses_blocked: 1,
        authenticated: 2,
        pending: 0,
      });
      const metrics = (await httpGet(`${g.base}/metrics`)).body.toString();
      const id = g.fleet[0].spec.id;
      expect(metrics).toContain(`bambucam_auth_failures_total{printer="${id}",output="native_chamber"} 5`);
      expect(metrics).toContain(`bambucam_auth_delayed_total{printer="${id}",output="native_chamber"} 2`);
      expect(metrics).toContain(
        `bambucam_connections_refused_total{printer="${id}",output="native_chamber",reason="blocked"} 100`,
      );
      expect(metrics).toContain(`bambucam_addresses_blocked{printer="${id}",output="native_chamber"} 1`);

      await gw.stop(); // the last aggregated line is written on stop
      gw = undefined;
      const guardLines = logs.lines.filter((l) => l.includes('[native]') && l.includes(' WARN '));
      const sum = (words: string) =>
        guardLines.reduce((n, l) => n + Number(new RegExp(`(\\d+) ${words}`).exec(l)?.[1] ?? 0), 0);
      expect(sum('failed authentications?')).toBe(5);
      expect(sum('connections? refused from (?:a )?blocked address')).toBe(100);
      expect(guardLines.join('\n')).toContain('127.0.0.2 is refused for 600 s after 5 failures');
      for (const l of logs.lines) expect(l).not.toContain(code);
    } finally {
      logs.restore();
    }
  });
});
