/**
 * Issue 13, findings 1 and 2 on HTTP, RTSP :8554, native RTSPS :322 and native MQTT :8883 (the
 * native :6000 server has its own test): wrong credentials are counted per output, slowed down per address, a Digest connection
 * is closed after a few wrong answers, a flood of idle connections from one address is capped — and
 * clients with the right credentials from another address are never affected. Strangers connect from
 * 127.0.0.2 and up, the real clients from 127.0.0.1.
 */
import { request } from 'node:http';
import { Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { digestAuthorization, parseChallenge } from '../../src/protocol/rtsp/auth';
import { type RtspResponse, RtspStreamParser } from '../../src/protocol/rtsp/message';
import { RTSPS_PATH, RTSPS_USER } from '../../src/protocol/rtsp/printer-path';
import type { GuardStatusJson } from '../../src/serve/guard/address-guard';
import { captureLogs, type Gateway, httpGet, rtspsSpec, spec, startGateway, waitFor } from '../helpers';
import { connectPacket } from '../mqtt-clients';

jest.setTimeout(120_000);

const USER = { username: 'farm', password: 'pa55-w0rd-farm' };
const LIMITS = { failures_before_delay: 3, delays_s: [1, 2], refuse_s: 600 };

interface Answer {
  status: number;
  /** ms from sending to the answer (or the close). */
  ms: number;
  /** The connection was closed or refused instead of answered. */
  closed: boolean;
}

/** One HTTP GET on a new connection from `localAddress`. */
function get(url: string, localAddress: string, headers: Record<string, string> = {}): Promise<Answer> {
  const started = Date.now();
  return new Promise((resolve) => {
    const req = request(url, { localAddress, headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: Date.now() - started, closed: false }));
    });
    req.on('error', () => resolve({ status: 0, ms: Date.now() - started, closed: true }));
    req.setTimeout(20_000, () => req.destroy());
    req.end();
  });
}
const basic = (u: string, p: string) => ({
  Authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`,
});

/** A raw RTSP(S) conversation from a chosen local address. */
class RtspProbe {
  readonly socket: Socket;
  closed = false;
  private readonly parser = new RtspStreamParser();
  private readonly answers: RtspResponse[] = [];
  /** Everything received as text: the parser keeps one of several WWW-Authenticate headers. */
  private text = '';
  private waiters: (() => void)[] = [];
  private cseq = 0;

  constructor(port: number, localAddress: string, tls: boolean) {
    const raw = new Socket().connect({ port, host: '127.0.0.1', localAddress });
    raw.on('error', () => {});
    this.socket = tls ? tlsConnect({ socket: raw, rejectUnauthorized: false }) : raw;
    this.socket.on('error', () => {});
    this.socket.on('data', (d: Buffer) => {
      this.text += d.toString('latin1');
      for (const m of this.parser.push(d)) if (m.kind === 'response') this.answers.push(m);
      this.wake();
    });
    this.socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  send(method: string, uri: string, headers: Record<string, string> = {}): void {
    const lines = [`${method} ${uri} RTSP/1.0`, `CSeq: ${++this.cseq}`];
    for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
    this.socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  }

  /** The next answer, or null when the connection closed first. */
  async next(timeoutMs = 20_000): Promise<RtspResponse | null> {
    const deadline = Date.now() + timeoutMs;
    while (!this.answers.length && !this.closed) {
      if (Date.now() > deadline) throw new Error('no RTSP answer');
      await new Promise<void>((r) => {
        const t = setTimeout(r, 100);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return this.answers.shift() ?? null;
  }

  /** DESCRIBE with a Digest answer for `password` to this connection's challenge. */
  async describe(uri: string, password: string, user = USER.username): Promise<RtspResponse | null> {
    this.send('DESCRIBE', uri);
    const challenge = await this.next();
    if (challenge?.status !== 401) return challenge;
    const lines = [...this.text.matchAll(/^WWW-Authenticate: (Digest .*)\r$/gim)];
    const digest = parseChallenge(lines.at(-1)?.[1] ?? '');
    if (!digest) throw new Error('no Digest challenge');
    this.send('DESCRIBE', uri, {
      Authorization: digestAuthorization({
        username: user,
        password,
        method: 'DESCRIBE',
        uri,
        challenge: digest,
      }),
    });
    return this.next();
  }

  close(): void {
    this.socket.destroy();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}

/** `name{labels} value` from Prometheus text, or NaN. */
function metric(text: string, name: string, labels: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(' ').pop()) : Number.NaN;
}

describe('per-address limits on HTTP, RTSP and native RTSPS', () => {
  let gw: Gateway | undefined;
  const probes: RtspProbe[] = [];
  afterEach(async () => {
    for (const p of probes.splice(0)) p.close();
    await gw?.stop();
    gw = undefined;
  });

  test('HTTP: wrong credentials slowed down then refused, idle connections capped, the right user unaffected', async () => {
    const logs = captureLogs('info');
    try {
      gw = await startGateway([spec({ fps: 5 })], {
        config: { http: { port: 0, host: '127.0.0.1', users: [USER] }, limits: LIMITS },
      });
      const g = gw;
      const snap = `${g.base}/printers/${g.fleet[0].spec.id}/snapshot.jpg`;
      const good = () => get(snap, '127.0.0.1', basic(USER.username, USER.password));
      expect((await good()).status).toBe(200);

      // No credentials: 401, not a failure. Wrong ones: three quick 401s, then one at a time, delayed.
      expect((await get(snap, '127.0.0.2')).status).toBe(401);
      for (let i = 0; i < 3; i++) {
        const a = await get(snap, '127.0.0.2', basic(USER.username, `wrong-${i}`));
        expect(a).toMatchObject({ status: 401, closed: false });
      }
      const slow = get(snap, '127.0.0.2', basic(USER.username, 'wrong-3'));
      await waitFor(
        async () => (await httpJson(g)).outputs.http.guard.delayed === 1,
        5000,
        'the delayed request',
      );
      expect((await get(snap, '127.0.0.2', basic(USER.username, USER.password))).closed).toBe(true);
      expect((await good()).status).toBe(200); // meanwhile, the right user from elsewhere
      const d1 = await slow;
      expect(d1.status).toBe(401);
      expect(d1.ms).toBeGreaterThanOrEqual(950);
      const d2 = await get(snap, '127.0.0.2', basic(USER.username, 'wrong-4'));
      expect(d2.status).toBe(401);
      expect(d2.ms).toBeGreaterThanOrEqual(1950);
      // Refused now, the right password too, before any HTTP.
      const refused = await Promise.all(
        Array.from({ length: 20 }, () => get(snap, '127.0.0.2', basic(USER.username, USER.password))),
      );
      for (const r of refused) expect(r.closed).toBe(true);

      // Forty idle connections from one address: 32 wait (for the request timeout), 8 are refused.
      const idle: Socket[] = [];
      for (let i = 0; i < 40; i++) {
        const s = new Socket().connect({
          port: Number(new URL(g.base).port),
          host: '127.0.0.1',
          localAddress: '127.0.0.3',
        });
        s.on('error', () => {});
        idle.push(s);
      }
      await waitFor(
        async () => (await httpJson(g)).outputs.http.guard.refused_address_limit >= 8,
        10_000,
        'refusals',
      );
      expect((await good()).status).toBe(200);
      for (const s of idle) s.destroy();

      const s = (await httpJson(g)).outputs.http.guard;
      expect(s).toMatchObject({
        failures: 5,
        delayed: 2,
        refused_blocked: 20,
        refused_address_limit: 9, // one from 127.0.0.2 while its delayed request waited, 8 idle ones
        addresses_blocked: 1,
      });
      const text = (
        await httpGet(`${g.base}/metrics`, 10_000, basic(USER.username, USER.password))
      ).body.toString();
      expect(metric(text, 'bambucam_auth_failures_total', 'output="http"')).toBe(5);
      expect(metric(text, 'bambucam_connections_refused_total', 'output="http",reason="blocked"')).toBe(20);
      await gw.stop();
      gw = undefined;
      const lines = logs.lines.filter((l) => l.includes('[http]') && l.includes(' WARN '));
      const sum = (words: string) =>
        lines.reduce((n, l) => n + Number(new RegExp(`(\\d+) ${words}`).exec(l)?.[1] ?? 0), 0);
      expect(sum('failed authentications?')).toBe(5);
      for (const l of logs.lines) expect(l).not.toContain(USER.password);
    } finally {
      logs.restore();
    }
  });

  test('RTSP :8554 with users: a Digest connection is closed after three wrong answers; guessing is slowed', async () => {
    gw = await startGateway([spec({ fps: 5 })], {
      config: {
        rtsp: { port: 0, host: '127.0.0.1', users: [USER] },
        limits: { ...LIMITS, failures_before_delay: 5 },
      },
    });
    const g = gw;
    const uri = `${g.rtspBase}/${g.fleet[0].spec.id}`;
    const port = Number(new URL(g.rtspBase.replace('rtsp:', 'http:')).port);
    const open = (local: string) => {
      const p = new RtspProbe(port, local, false);
      probes.push(p);
      return p;
    };

    const guesser = open('127.0.0.2');
    for (let i = 0; i < 3; i++) expect((await guesser.describe(uri, `wrong-${i}`))?.status).toBe(401);
    // The third wrong answer was the last on this connection: it is closed after its 401.
    await waitFor(() => guesser.closed, 5000, 'the connection to close');
    const second = open('127.0.0.2');
    expect((await second.describe(uri, 'wrong-3'))?.status).toBe(401);
    expect((await second.describe(uri, 'wrong-4'))?.status).toBe(401);
    await waitFor(() => second.closed, 5000, 'the penalised connection to close');
    // Five failures within a minute: the next answer waits a second.
    const third = open('127.0.0.2');
    const started = Date.now();
    expect((await third.describe(uri, 'wrong-5'))?.status).toBe(401);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);

    // The right user from another address plays at once.
    const viewer = open('127.0.0.1');
    const ok = await viewer.describe(uri, USER.password);
    expect(ok?.status).toBe(200);
    expect(ok?.body.toString()).toContain('m=video');

    const api = await httpJson(g);
    expect(api.outputs.rtsp.guard).toMatchObject({ failures: 6, delayed: 1, authenticated: 1 });
    const text = (await httpGet(`${g.base}/metrics`)).body.toString();
    expect(metric(text, 'bambucam_auth_failures_total', 'output="rtsp"')).toBe(6);
  });

  test('native RTSPS: thousands of wrong Digest answers on one connection get three 401s, then the close', async () => {
    gw = await startGateway([], { rtsps: [rtspsSpec()], config: { limits: LIMITS } });
    const g = gw;
    const id = g.rtspsFleet[0].spec.id;
    const server = g.app.nativeRtsps.get(id)!;
    const uri = `rtsps://127.0.0.1:${server.port}${RTSPS_PATH}`;
    const guesser = new RtspProbe(server.port, '127.0.0.2', true);
    probes.push(guesser);
    guesser.send('DESCRIBE', uri);
    const challenge = await guesser.next();
    const digest = parseChallenge([challenge?.headers['www-authenticate']].flat()[0] ?? '')!;
    // Pipelined, as fast as the socket takes them.
    for (let i = 0; i < 2000; i++) {
      guesser.send('DESCRIBE', uri, {
        Authorization: digestAuthorization({
          username: RTSPS_USER,
          password: `guess-${i}`,
          method: 'DESCRIBE',
          uri,
          challenge: digest,
        }),
      });
    }
    await waitFor(() => guesser.closed, 10_000, 'the connection to close');
    let answered = 0;
    while (await guesser.next()) answered++;
    expect(answered).toBe(3);

    // The printer's code from another address still works.
    const viewer = new RtspProbe(server.port, '127.0.0.1', true);
    probes.push(viewer);
    expect((await viewer.describe(uri, g.rtspsFleet[0].spec.accessCode, RTSPS_USER))?.status).toBe(200);

    const api = await httpJson(g);
    const native = api.printers.find((p) => p.id === id)!.native.rtsps;
    expect(native.guard).toMatchObject({ failures: 3, authenticated: 1 });
    expect(native.closedAfterFailures).toBe(1);
    const text = (await httpGet(`${g.base}/metrics`)).body.toString();
    expect(metric(text, 'bambucam_auth_failures_total', `printer="${id}",output="native_rtsps"`)).toBe(3);
  });

  test('native MQTT: 300 idle sockets do not keep a client out; wrong codes slowed down then refused', async () => {
    gw = await startGateway([spec({ fps: 2, mqtt: { reportIntervalMs: 500 } })], {
      config: { limits: LIMITS },
    });
    const g = gw;
    const id = g.fleet[0].spec.id;
    const code = g.fleet[0].spec.accessCode;
    const printer = async () => (await httpJson(g)).printers.find((p) => p.id === id)!;
    await waitFor(
      async () => (await printer()).mqtt.state === 'connected',
      20_000,
      'the link to the printer',
    );
    const port = (await printer()).native.mqtt.port;

    // 300 plain TCP sockets from one address (the old cap was 256 connections of any kind).
    const flood: Socket[] = [];
    for (let i = 0; i < 300; i++) {
      const s = new Socket().connect({ port, host: '127.0.0.1', localAddress: '127.0.0.4' });
      s.on('error', () => {});
      flood.push(s);
    }
    await waitFor(
      async () => (await printer()).native.mqtt.guard.refused_address_limit >= 268,
      10_000,
      'refusals',
    );
    expect(await mqttLogin(port, '127.0.0.1', code)).toMatchObject({ rc: 0 });
    for (const s of flood) s.destroy();

    for (let i = 0; i < 3; i++)
      expect(await mqttLogin(port, '127.0.0.2', `wrong-${i}`)).toMatchObject({ rc: 5 });
    const d1 = await mqttLogin(port, '127.0.0.2', 'wrong-3');
    expect(d1.rc).toBe(5);
    expect(d1.ms).toBeGreaterThanOrEqual(950);
    const d2 = await mqttLogin(port, '127.0.0.2', 'wrong-4');
    expect(d2.rc).toBe(5);
    expect(d2.ms).toBeGreaterThanOrEqual(1950);
    // Refused now, before TLS, the right code too; the right code from elsewhere logs in.
    expect(await mqttLogin(port, '127.0.0.2', code)).toMatchObject({ rc: null, tls: false });
    expect(await mqttLogin(port, '127.0.0.1', code)).toMatchObject({ rc: 0 });

    const native = (await printer()).native.mqtt;
    expect(native.auth_failures).toBe(5);
    expect(native.guard).toMatchObject({ failures: 5, delayed: 2, refused_blocked: 1, addresses_blocked: 1 });
    const text = (await httpGet(`${g.base}/metrics`)).body.toString();
    expect(metric(text, 'bambucam_auth_failures_total', `printer="${id}",output="native_mqtt"`)).toBe(5);
  });
});

/** A raw MQTT login over TLS from `localAddress`: the CONNACK return code, or null when closed first. */
function mqttLogin(
  port: number,
  localAddress: string,
  code: string,
): Promise<{ rc: number | null; ms: number; tls: boolean }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const raw = new Socket().connect({ port, host: '127.0.0.1', localAddress });
    raw.on('error', () => {});
    let tls = false;
    const s = tlsConnect({ socket: raw, rejectUnauthorized: false }, () => {
      tls = true;
      s.write(connectPacket(`guess-${Math.random()}`, 'bblp', code, 30));
    });
    s.on('error', () => {});
    s.on('data', (d: Buffer) => {
      if (d[0] === 0x20 && d.length >= 4) {
        resolve({ rc: d[3], ms: Date.now() - started, tls });
        s.destroy();
      }
    });
    s.on('close', () => resolve({ rc: null, ms: Date.now() - started, tls }));
    setTimeout(() => s.destroy(), 20_000).unref();
  });
}

interface ApiJson {
  printers: {
    id: string;
    native: {
      rtsps: { guard: GuardStatusJson; closedAfterFailures: number };
      mqtt: { port: number; guard: GuardStatusJson; auth_failures: number };
    };
    mqtt: { state: string };
  }[];
  outputs: Record<string, { guard: GuardStatusJson }>;
}
async function httpJson(g: Gateway): Promise<ApiJson> {
  const res = await httpGet(`${g.base}/api/printers`, 10_000, basic(USER.username, USER.password));
  return JSON.parse(res.body.toString()) as ApiJson;
}
