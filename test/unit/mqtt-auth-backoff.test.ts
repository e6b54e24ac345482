/**
 * The MQTT link's back-off after a wrong access code, on jest's fake clock: the printer's MQTT
 * server (here a few lines on a loopback TLS socket that answer CONNACK 5 and close, as a printer
 * does) is tried again after 30 s, then 60 s, never sooner. Socket I/O runs for real; only the
 * timers and the clock are fake.
 */
import type { AddressInfo } from 'node:net';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { rootLogger } from '../../src/log';
import { MqttLink } from '../../src/source/mqtt-link';
import { generateCertificate } from '../../src/tls/certs';

/** CONNACK, MQTT 3.1.1: session present 0, return code 5 ("not authorized"). */
const CONNACK_NOT_AUTHORIZED = Buffer.from([0x20, 0x02, 0x00, 0x05]);
const SERIAL = '01P00A000000001';
const CODE = 'wrong123';

let server: Server;
let logins = 0;
const sockets = new Set<TLSSocket>();

beforeAll(async () => {
  const identity = generateCertificate({ commonName: SERIAL, issuerName: 'BBL CA' });
  server = createServer(identity, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    // The first bytes are the CONNECT packet: refuse it and close, as the printer does.
    socket.once('data', () => {
      logins++;
      socket.end(CONNACK_NOT_AUTHORIZED);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

afterEach(() => {
  jest.useRealTimers();
});

/** Let real socket I/O happen (fake timers do not cover it) until `cond`, for at most 10 s of real time. */
async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + 10_000;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** A few real event-loop turns: long enough for a connection that should not exist to show up. */
async function realPause(ms: number): Promise<void> {
  const end = performance.now() + ms;
  while (performance.now() < end) await new Promise((resolve) => setImmediate(resolve));
}

test('CONNACK 5 is a wrong access code: auth_failed, then tries again after 30 s and 60 s, not sooner', async () => {
  jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask', 'performance', 'hrtime'] });
  const port = (server.address() as AddressInfo).port;
  const link = new MqttLink({
    host: '127.0.0.1',
    port,
    accessCode: CODE,
    serial: SERIAL,
    tls: { fingerprint: null, caFile: null },
    log: rootLogger.child('test'),
  });
  link.start();
  try {
    await until(() => link.status.state === 'auth_failed', 'the first refusal');
    expect(logins).toBe(1);
    expect(link.status.lastError).toMatch(/wrong access code.*CONNACK 5/);
    expect(JSON.stringify(link.toJSON())).not.toContain(CODE);
    expect(link.status.nextRetryAt! - Date.now()).toBe(30_000);

    await jest.advanceTimersByTimeAsync(29_999);
    await realPause(200);
    expect(logins).toBe(1);
    await jest.advanceTimersByTimeAsync(1);
    await until(() => logins === 2 && link.status.state === 'auth_failed', 'the second refusal');
    expect(link.status.nextRetryAt! - Date.now()).toBe(60_000);

    await jest.advanceTimersByTimeAsync(59_999);
    await realPause(200);
    expect(logins).toBe(2);
    await jest.advanceTimersByTimeAsync(1);
    await until(() => logins === 3 && link.status.state === 'auth_failed', 'the third refusal');
  } finally {
    await link.stop();
  }
  expect(link.status.state).toBe('stopped');
});
