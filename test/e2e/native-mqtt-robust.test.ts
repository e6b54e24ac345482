/**
 * The native MQTT server is robust like the printer (issue 12, §6): wills, clean and persistent
 * sessions, keepalive, QoS 1 publishes, retained publishes, wildcard subscriptions, garbage and
 * non-TLS clients, too many clients. Clients: MQTT.js and raw sockets speaking MQTT bytes by hand.
 */

import { connect as netConnect, type Socket } from 'node:net';
import { join } from 'node:path';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import type { NativeMqttStatusJson } from '../../src/serve/native-mqtt/mqtt-server';
import { type Gateway, httpJson, sleep, spec, startGateway, waitFor } from '../helpers';
import { connectPacket, MqttJsClient, parsed, reportTopic, requestTopic, type Target } from '../mqtt-clients';

jest.setTimeout(90_000);

interface PrinterJson {
  mqtt: { state: string };
  native: { mqtt: NativeMqttStatusJson };
}

const api = (gw: Gateway) => httpJson<PrinterJson>(`${gw.base}/api/printers/${gw.fleet[0].spec.id}`);

async function target(gw: Gateway): Promise<Target> {
  const s = await waitFor(
    async () => {
      const a = await api(gw);
      return a.mqtt.state === 'connected' ? a : null;
    },
    20_000,
    'the link to the printer',
  );
  return {
    port: s.native.mqtt.port,
    serial: gw.fleet[0].spec.serial,
    code: gw.fleet[0].spec.accessCode,
    cafile: join(gw.dataDir, 'tls', 'ca.crt'),
  };
}

/** A QoS 1 PUBLISH (retain flag optional), written by hand. */
function publishPacket(topic: string, payload: string, packetId: number, retain: boolean): Buffer {
  const t = Buffer.from(topic);
  const head = Buffer.alloc(4);
  head.writeUInt16BE(t.length, 0);
  const id = Buffer.alloc(2);
  id.writeUInt16BE(packetId);
  const body = Buffer.concat([head.subarray(0, 2), t, id, Buffer.from(payload)]);
  if (body.length > 127) throw new Error('test PUBLISH too long for a one-byte length');
  return Buffer.concat([Buffer.from([0x32 | (retain ? 1 : 0), body.length]), body]);
}

function rawTls(port: number): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => resolve(s));
    s.once('error', reject);
  });
}

/** Resolves when the server closed the socket (whatever it sent first is read and dropped). */
function closed(s: Socket): Promise<void> {
  return new Promise((resolve) => {
    if (s.destroyed) return resolve();
    s.once('close', () => resolve());
    s.resume();
  });
}

describe('native MQTT server: robust like the printer', () => {
  let gw: Gateway | undefined;
  let clients: MqttJsClient[] = [];
  const client = (name: string, t: Target, opts: ConstructorParameters<typeof MqttJsClient>[2] = {}) => {
    const c = new MqttJsClient(name, t, opts);
    clients.push(c);
    return c;
  };
  afterEach(async () => {
    await Promise.all(clients.map((c) => c.close()));
    clients = [];
    await gw?.stop();
    gw = undefined;
  });

  test('wills, persistent and clean sessions, keepalive, QoS 1, retained publishes and wildcard subscriptions', async () => {
    gw = await startGateway([spec({ fps: 2, mqtt: { reportIntervalMs: 500 } })]);
    const sim = gw.fleet[0].mqtt!;
    const t = await target(gw);
    const watcher = client('watcher #', t, { keepalive: 1 });
    await watcher.connected();
    await watcher.client.subscribeAsync('#');

    // Wildcards: only filters that can match this printer's report topic are granted.
    const probe = client('probe', t);
    await probe.connected();
    // MQTT.js rejects a SUBACK with a failure code; the SUBACK itself is in the error.
    const suback = await probe.client
      .subscribeAsync(['device/+/report', 'device/OTHER/report', '$SYS/#', requestTopic(t), '+/+/+'])
      .then(
        () => null,
        (err: { packet?: { granted?: number[] } }) => err.packet,
      );
    expect(suback?.granted).toEqual([0, 128, 128, 128, 0]);

    // A will on the request topic and one elsewhere: neither reaches the printer, the others, or the retained store.
    const willing = client('willing', t, {
      will: {
        topic: requestTopic(t),
        payload: Buffer.from('{"print":{"sequence_id":"901","command":"stop"}}'),
        qos: 1,
        retain: true,
      },
    });
    const willing2 = client('willing2', t, {
      will: { topic: 'clients/willing2', payload: Buffer.from('gone-901'), qos: 0, retain: true },
    });
    await willing.connected();
    await willing2.connected();
    willing.client.stream.destroy();
    willing2.client.stream.destroy();
    // QoS 1 publishes are acknowledged (PUBACK with their packet id), wherever they go; retained ones are not stored.
    const raw1 = await rawTls(t.port);
    const got: Buffer[] = [];
    raw1.on('data', (b: Buffer) => got.push(b));
    raw1.write(connectPacket('qos1', 'bblp', t.code, 30));
    await waitFor(() => Buffer.concat(got).length >= 4, 10_000, 'CONNACK');
    raw1.write(
      publishPacket(requestTopic(t), '{"pushing":{"sequence_id":"902","command":"pushall"}}', 0x1234, true),
    );
    raw1.write(publishPacket('some/topic', 'x', 0x4321, true));
    await waitFor(() => Buffer.concat(got).length >= 12, 10_000, 'two PUBACKs');
    expect(Buffer.concat(got)).toEqual(
      Buffer.from([0x20, 2, 0, 0, 0x40, 2, 0x12, 0x34, 0x40, 2, 0x43, 0x21]),
    );
    raw1.end();
    await probe.client.publishAsync(reportTopic(t), '{"print":{"spoof":"903"}}', { qos: 1, retain: true });
    // The watcher keeps receiving reports, none of them a will, a spoofed report or someone's request.
    const mark = watcher.messages.length;
    await waitFor(() => watcher.messages.length > mark + 3, 10_000, 'more reports for the watcher');
    for (const m of watcher.messages) {
      expect(m.topic).toBe(reportTopic(t));
      expect(m.payload).not.toMatch(/90[123]|gone-/);
    }
    expect(sim.requests.some((r) => JSON.stringify(r).includes('901'))).toBe(false);
    // A new subscriber to everything gets no retained message at all.
    const late = client('late', t);
    await late.connected();
    await late.client.subscribeAsync(['#', reportTopic(t)]);
    await waitFor(() => late.messages.length >= 2, 10_000, 'reports for the late client');
    expect(late.messages.filter((m) => m.retain)).toEqual([]);
    expect(late.messages.map((m) => m.payload).join()).not.toMatch(/spoof|gone-901/);
    expect(watcher.closes).toBe(0); // keepalive 1 s: pings answered all along

    // A persistent session keeps its subscription across reconnects; a clean one does not.
    const id = `persist-${process.pid}`;
    const first = client('persistent 1', t, { clean: false, clientId: id });
    await first.connected();
    await first.client.subscribeAsync(reportTopic(t), { qos: 1 });
    await first.client.endAsync();
    let sessionPresent: boolean | null = null;
    const again = client('persistent 2', t, { clean: false, clientId: id });
    again.client.once('connect', (connack) => {
      sessionPresent = connack.sessionPresent;
    });
    await again.connected();
    expect(sessionPresent).toBe(true);
    await waitFor(() => again.messages.length >= 2, 10_000, 'reports without subscribing again');
    let cleanPresent: boolean | null = null;
    const fresh = client('clean', t, { clean: true, clientId: id });
    fresh.client.once('connect', (connack) => {
      cleanPresent = connack.sessionPresent;
    });
    await fresh.connected();
    expect(cleanPresent).toBe(false);
    await sleep(1500);
    expect(fresh.messages).toEqual([]);

    // A client that logs in with keepalive 1 s and then says nothing is closed by the server.
    const raw = await rawTls(t.port);
    const connack: Buffer[] = [];
    raw.on('data', (b: Buffer) => connack.push(b));
    raw.write(connectPacket('silent', 'bblp', t.code, 1));
    await waitFor(() => Buffer.concat(connack).length >= 4, 10_000, 'CONNACK');
    expect(Buffer.concat(connack).subarray(0, 4)).toEqual(Buffer.from([0x20, 0x02, 0x00, 0x00]));
    await closed(raw);

    const status = (await api(gw)).native.mqtt;
    expect(status.messages_in).toBe(3); // two QoS 1 publishes and the spoof; wills are not messages in
    expect(status.pushall_answered).toBe(1);
    expect(sim.stats.connections).toBe(1);
  });

  test('garbage, plain TCP, MQTT after garbage and too many clients: those connections closed, the others unharmed', async () => {
    gw = await startGateway([spec({ fps: 2, mqtt: { reportIntervalMs: 500 } })], {
      tuning: { nativeMqtt: { maxClients: 6, connectTimeoutMs: 2000 } },
    });
    const t = await target(gw);
    const good = client('good', t);
    await good.connected();
    await good.client.subscribeAsync(reportTopic(t));

    // Plain TCP speaking HTTP, and garbage bytes: no TLS handshake, closed.
    const plain = netConnect(t.port, '127.0.0.1');
    plain.on('error', () => {});
    plain.write('GET / HTTP/1.1\r\nHost: printer\r\n\r\n');
    const junk = netConnect(t.port, '127.0.0.1');
    junk.on('error', () => {});
    junk.write(Buffer.from('\x00\x01\xff garbage that is not TLS\r\n'.repeat(20)));
    // TLS, then bytes that are not MQTT; TLS, then a CONNECT that never comes (connect timeout).
    const tlsJunk = await rawTls(t.port);
    tlsJunk.on('error', () => {});
    tlsJunk.write(Buffer.from([0xf0, 0xff, 0xff, 0xff, 0xff, 0x7f, 1, 2, 3]));
    const idle = await rawTls(t.port);
    idle.on('error', () => {});
    // TLS, a good CONNECT, then garbage.
    const after = await rawTls(t.port);
    after.on('error', () => {});
    after.write(connectPacket('then-junk', 'bblp', t.code, 30));
    await sleep(300);
    after.write(Buffer.from([0x00, 0x00, 0x00]));
    await Promise.all([closed(plain), closed(junk), closed(tlsJunk), closed(idle), closed(after)]);

    // An MQTT 5 client: refused (MQTT 3.1.1 and 3.1 only), nobody else notices.
    const v5 = client('mqtt.js v5', t, { protocolVersion: 5 });
    await waitFor(() => v5.lastError || v5.closes > 0, 10_000, 'the MQTT 5 client refused');
    expect(v5.client.connected).toBe(false);

    // Too many at once: the sixth and later connections are closed at once.
    const crowd: MqttJsClient[] = [];
    for (let i = 0; i < 8; i++) crowd.push(client(`crowd ${i}`, t));
    await waitFor(() => crowd.filter((c) => c.client.connected).length === 5, 15_000, 'five of the crowd in');
    await sleep(500);
    expect(crowd.filter((c) => c.client.connected)).toHaveLength(5);

    const mark = good.messages.length;
    await waitFor(() => good.messages.length > mark + 2, 10_000, 'reports keep coming');
    expect(good.closes).toBe(0);
    expect(parsed(good).every((m) => m.print !== undefined)).toBe(true);
  });
});
