/**
 * The printer's MQTT re-served (issue 12), against the simulated printer, with clients that are not
 * bambucam's code: Debian's mosquitto_sub/mosquitto_pub, Python paho-mqtt connecting like
 * ha-bambulab, and MQTT.js.
 */
import { join } from 'node:path';
import type { NativeMqttStatusJson } from '../../src/serve/native-mqtt/mqtt-server';
import { type Gateway, httpGet, httpJson, spec, startGateway, waitFor } from '../helpers';
import {
  MosquittoSub,
  MqttJsClient,
  mosquittoPub,
  PahoClient,
  parsed,
  type Recorder,
  reportTopic,
  type Target,
  waitForMessage,
} from '../mqtt-clients';

jest.setTimeout(120_000);

const VIEWER = 'viewer99';

interface PrinterJson {
  mqtt: { state: string };
  native: { mqtt: NativeMqttStatusJson & { state: string; reason?: string } };
}

const api = (gw: Gateway, i = 0) => httpJson<PrinterJson>(`${gw.base}/api/printers/${gw.fleet[i].spec.id}`);

async function target(gw: Gateway, i = 0): Promise<Target> {
  const status = await waitFor(
    async () => {
      const a = await api(gw, i);
      return a.mqtt.state === 'connected' && a.native.mqtt.state === 'listening' ? a : null;
    },
    20_000,
    "bambucam's link to the printer and its MQTT server",
  );
  return {
    port: status.native.mqtt.port,
    serial: gw.fleet[i].spec.serial,
    code: gw.fleet[i].spec.accessCode,
    cafile: join(gw.dataDir, 'tls', 'ca.crt'),
  };
}

/** The indices of `expected` in the recorder's payloads, or null when one is missing. */
function positions(r: Recorder, expected: string[]): number[] | null {
  const payloads = r.messages.map((m) => m.payload);
  const at = expected.map((p) => payloads.indexOf(p));
  return at.includes(-1) ? null : at;
}

const ledctrl = (mode: 'on' | 'off', seq: string) =>
  JSON.stringify({
    system: {
      sequence_id: seq,
      command: 'ledctrl',
      led_node: 'chamber_light',
      led_mode: mode,
      led_on_time: 500,
      led_off_time: 500,
      loop_times: 0,
      interval_time: 0,
    },
  });

const pushall = (seq: string) =>
  JSON.stringify({ pushing: { sequence_id: seq, command: 'pushall', version: 1 } });

describe('native MQTT server (the printer’s :8883 re-served)', () => {
  let gw: Gateway | undefined;
  let closers: { close(): Promise<void> }[] = [];
  const track = <T extends { close(): Promise<void> }>(c: T): T => {
    closers.push(c);
    return c;
  };
  afterEach(async () => {
    await Promise.all(closers.map((c) => c.close()));
    closers = [];
    await gw?.stop();
    gw = undefined;
  });

  test('10 clients: the printer sees one connection; every report reaches every client in order; pushall and get_version answered by bambucam; commands go up from read-write clients only, their answers reach everyone', async () => {
    gw = await startGateway([spec({ fps: 2, mqtt: { reportIntervalMs: 1000 } })], {
      entry: () => ({ viewer_code: VIEWER }),
    });
    const sim = gw.fleet[0].mqtt!;
    const t = await target(gw);
    const sent: string[] = [];
    sim.on('report', (p: string) => sent.push(p));

    const js = [
      track(new MqttJsClient('mqtt.js rw', t)),
      track(new MqttJsClient('mqtt.js ro', t, { code: VIEWER })),
      track(new MqttJsClient('mqtt.js #', t)),
      track(new MqttJsClient('mqtt.js CA', t, { verify: true })),
    ];
    const subs = [
      // Full verification: bambucam's CA and the host name (127.0.0.1 is in the certificate).
      track(new MosquittoSub('mosquitto_sub CA+host', t, { verifyHost: true })),
      track(new MosquittoSub('mosquitto_sub viewer', t, { code: VIEWER })),
      track(new MosquittoSub('mosquitto_sub device/+/report', t, { topic: 'device/+/report' })),
    ];
    const paho = [
      track(new PahoClient('paho like ha-bambulab', t)),
      track(new PahoClient('paho viewer', t, { code: VIEWER })),
      track(new PahoClient('paho with CA', t, { verify: true })),
    ];
    for (const c of js) await c.connected();
    await js[0].client.subscribeAsync(reportTopic(t));
    await js[1].client.subscribeAsync(reportTopic(t));
    await js[2].client.subscribeAsync('#');
    await js[3].client.subscribeAsync(reportTopic(t), { qos: 1 });
    expect(await Promise.all(paho.map((p) => p.connack()))).toEqual([0, 0, 0]);
    const all: Recorder[] = [...js, ...subs, ...paho];
    await waitFor(() => all.every((c) => c.messages.length > 0), 20_000, 'every client’s first report');

    // Every report the printer sends from now on reaches every client, byte for byte and in order.
    const from = sent.length;
    await waitFor(() => sent.length >= from + 5, 20_000, 'five reports from the printer');
    const expected = sent.slice(from, from + 5);
    await waitFor(
      () => all.every((c) => positions(c, expected) !== null),
      20_000,
      'the five reports everywhere',
    );
    for (const c of all) {
      const at = positions(c, expected)!;
      expect(at).toEqual([...at].sort((a, b) => a - b));
      for (const m of c.messages) expect(m.topic).toBe(reportTopic(t));
    }
    expect(sim.stats.connections).toBe(1);
    expect(sim.stats.clients).toBe(1);

    // paho asked like ha-bambulab (get_version 20001, pushall 20002): answered at once from bambucam's state.
    for (const p of paho) {
      const full = await waitForMessage(p, (m) => m.print?.sequence_id === '20002', 10_000, 'pushall answer');
      expect(full.print).toMatchObject({ command: 'push_status', msg: 0, gcode_state: 'IDLE' });
      for (const key of [
        'ams',
        'ipcam',
        'net',
        'lights_report',
        'nozzle_temper',
        'bed_temper',
        'wifi_signal',
      ])
        expect(full.print).toHaveProperty(key);
      expect((full.print.ams as { ams: { tray: unknown[] }[] }).ams[0].tray).toHaveLength(4);
      const version = await waitForMessage(p, (m) => m.info?.sequence_id === '20001', 10_000, 'get_version');
      expect(version.info.command).toBe('get_version');
      expect(version.info.module).toEqual(
        expect.arrayContaining([expect.objectContaining({ name: 'ota', product_name: 'Bambu Lab P1S' })]),
      );
    }
    // More pushalls, from MQTT.js and mosquitto_pub; the printer still saw only bambucam's own.
    await js[0].client.publishAsync(`device/${t.serial}/request`, pushall('4242'));
    await mosquittoPub(t, pushall('4343'), { code: VIEWER });
    const answer = await waitForMessage(
      js[0],
      (m) => m.print?.sequence_id === '4242',
      10_000,
      'pushall 4242',
    );
    expect(answer.print).toMatchObject({ command: 'push_status', msg: 0 });
    expect(answer.print.ipcam).toMatchObject({ ipcam_dev: '1' });
    // The answer goes to the asker alone (others have their reports).
    expect(parsed(js[2]).some((m) => m.print?.sequence_id === '4242')).toBe(false);
    expect(sim.stats.pushalls).toBe(1);
    expect(sim.stats.getVersions).toBe(1);

    // A read-write client's command reaches the printer unchanged; its answer reaches every client.
    const on = ledctrl('on', '777');
    expect((await mosquittoPub(t, on)).code).toBe(0);
    await waitFor(() =>
      sim.requests.some((r) => (r.system as { sequence_id?: string })?.sequence_id === '777'),
    );
    expect(sim.requests.filter((r) => JSON.stringify(r) === on)).toHaveLength(1);
    for (const c of all) {
      const echo = await waitForMessage(c, (m) => m.system?.sequence_id === '777', 10_000, 'ledctrl answer');
      expect(echo.system).toMatchObject({ command: 'ledctrl', result: 'success', led_mode: 'on' });
    }

    // Read-only clients' commands are refused, counted, and never reach the printer.
    expect((await mosquittoPub(t, ledctrl('off', '666'), { code: VIEWER })).code).toBe(0);
    await js[1].client.publishAsync(
      `device/${t.serial}/request`,
      JSON.stringify({ print: { sequence_id: '665', command: 'pause' } }),
    );
    paho[1].publish(ledctrl('off', '664'));
    const status = await waitFor(
      async () => {
        const s = (await api(gw!)).native.mqtt;
        return s.commands.refused >= 3 ? s : null;
      },
      15_000,
      'three refused commands',
    );
    const seqs = sim.requests.map(
      (r) => Object.values(r).map((v) => (v as { sequence_id?: string }).sequence_id)[0],
    );
    expect(seqs).not.toContain('666');
    expect(seqs).not.toContain('665');
    expect(seqs).not.toContain('664');
    expect(sim.stats.ledctrls).toBe(1);

    // What the API says: ten clients (the mosquitto_pub ones have left), three of them read-only.
    expect(status.clients).toHaveLength(10);
    expect(status.clients.filter((c) => c.read_only)).toHaveLength(3);
    for (const c of status.clients) {
      expect(c.remote).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(c.messages_out).toBeGreaterThan(0);
    }
    expect(status.commands.forwarded).toBe(1);
    expect(status.messages_in).toBeGreaterThanOrEqual(9);
    expect(status.messages_out).toBeGreaterThan(60);
    expect(status.pushall_answered).toBeGreaterThanOrEqual(5);
    expect(status.pushall_upstream).toBe(0);
    const metrics = (await httpGet(`${gw.base}/metrics`)).body.toString();
    const id = gw.fleet[0].spec.id;
    expect(metrics).toContain(`bambucam_native_mqtt_clients{printer="${id}",access="ro"} 3`);
    expect(metrics).toContain(`bambucam_native_mqtt_clients{printer="${id}",access="rw"} 7`);
    expect(metrics).toMatch(
      new RegExp(`bambucam_native_mqtt_commands_total\\{printer="${id}",result="refused"\\} [3-9]`),
    );
    expect(metrics).toContain(`bambucam_native_mqtt_commands_total{printer="${id}",result="forwarded"} 1`);
    expect(sim.stats.connections).toBe(1);
  });

  test('wrong code or user: CONNACK 5 for mosquitto, paho and MQTT.js; viewer_only refuses the access code', async () => {
    const specs = [spec({ fps: 2, mqtt: true }), spec({ fps: 2, mqtt: true })];
    gw = await startGateway(specs, {
      entry: (p) =>
        p.spec === specs[1] ? { viewer_code: VIEWER, native_auth: 'viewer_only' } : { viewer_code: VIEWER },
    });
    const t = await target(gw);
    const pub = await mosquittoPub(t, pushall('1'), { code: 'wrong123' });
    expect(pub.code).not.toBe(0);
    expect(pub.output).toMatch(/not authori[sz]ed/i);
    const paho = track(new PahoClient('paho wrong', t, { code: 'wrong123' }));
    expect(await paho.connack()).toBe(5);
    const js = track(new MqttJsClient('mqtt.js wrong', t, { code: 'wrong123' }));
    await waitFor(() => js.lastError, 10_000, 'MQTT.js refused');
    expect(js.lastError?.code).toBe(5);
    const user = track(new MqttJsClient('mqtt.js admin', t, { username: 'admin' }));
    await waitFor(() => user.lastError, 10_000, 'MQTT.js refused');
    expect(user.lastError?.code).toBe(5);
    const status = (await api(gw)).native.mqtt;
    expect(status.auth_failures).toBe(4);
    expect(status.clients).toHaveLength(0);

    // viewer_only: the access code stays private, the viewer code reads.
    const t2 = await target(gw, 1);
    const printerCode = track(new PahoClient('paho access code, viewer_only', t2));
    expect(await printerCode.connack()).toBe(5);
    const viewer = track(new PahoClient('paho viewer code, viewer_only', t2, { code: VIEWER }));
    expect(await viewer.connack()).toBe(0);
    await waitForMessage(viewer, (m) => m.print?.sequence_id === '20002', 10_000, 'pushall answer');
    viewer.publish(ledctrl('on', '555'));
    await waitFor(async () => (await api(gw!, 1)).native.mqtt.commands.refused === 1, 10_000, 'refused');
    const s2 = (await api(gw, 1)).native.mqtt;
    expect(s2.clients).toEqual([expect.objectContaining({ read_only: true })]);
    expect(gw.fleet[1].mqtt!.stats.ledctrls).toBe(0);
  });

  test('a client that stops reading is dropped past its bounded queue; the others get every report and the printer link never waits', async () => {
    // The default bound: 1 MiB not yet sent.
    gw = await startGateway([spec({ fps: 2, mqtt: { reportIntervalMs: 1000 } })]);
    const sim = gw.fleet[0].mqtt!;
    const t = await target(gw);
    const stopped = track(new MosquittoSub('mosquitto_sub (stopped)', t));
    const js = track(new MqttJsClient('mqtt.js', t));
    const readers: Recorder[] = [
      js,
      track(new PahoClient('paho', t, { hello: false })),
      track(new MosquittoSub('mosquitto_sub', t)),
    ];
    await js.connected();
    await js.client.subscribeAsync(reportTopic(t));
    await waitFor(() => [stopped, ...readers].every((c) => c.messages.length > 0), 20_000, 'first reports');
    stopped.pause(); // SIGSTOP: the process reads nothing more, its socket buffers fill up
    const sent: string[] = [];
    sim.on('report', (p: string) => sent.push(p));
    // 9.6 MB of reports in 12 s (16 KB every 20 ms, which readers keep up with): far more than the
    // stopped client's kernel buffers and its 1 MiB queue in bambucam hold.
    await sim.burst(600, 16 * 1024, 20);
    const expected = sent.slice(0, 600);
    expect(expected.length).toBeGreaterThanOrEqual(600);
    await waitFor(() => readers.every((r) => positions(r, expected) !== null), 60_000, 'every burst report');
    for (const r of readers) {
      const at = positions(r, expected)!;
      expect(at).toEqual([...at].sort((a, b) => a - b));
    }
    const status = await waitFor(
      async () => {
        const s = (await api(gw!)).native.mqtt;
        return s.clients_dropped_slow === 1 ? s : null;
      },
      30_000,
      'the stopped client dropped',
    );
    expect(status.clients).toHaveLength(3);
    expect((await api(gw)).mqtt.state).toBe('connected');
    expect(sim.stats.connections).toBe(1);
    // Reports keep flowing to the others after the drop.
    const next = sent.length;
    await waitFor(() => sent.length > next, 10_000, 'a report after the burst');
    await waitFor(() => readers.every((r) => positions(r, [sent[next]]) !== null), 15_000, 'the next report');
    stopped.resume();
    expect(js.closes).toBe(0);
  });

  test('the printer dropping and coming back: clients stay connected and get the full state again', async () => {
    gw = await startGateway([spec({ fps: 2, mqtt: { reportIntervalMs: 500 } })]);
    const sim = gw.fleet[0].mqtt!;
    const t = await target(gw);
    const js = track(new MqttJsClient('mqtt.js', t, { keepalive: 2 }));
    const paho = track(new PahoClient('paho', t, { hello: false }));
    const sub = track(new MosquittoSub('mosquitto_sub', t, { extra: ['-k', '5'] }));
    const all: Recorder[] = [js, paho, sub];
    await js.connected();
    await js.client.subscribeAsync(reportTopic(t));
    await waitFor(() => all.every((c) => c.messages.length > 0), 20_000, 'first reports');
    const before = (await api(gw)).native.mqtt.clients.map((c) => `${c.remote} ${c.since}`).sort();
    const marks = all.map((c) => c.messages.length);

    sim.goOffline(4000); // the printer is gone for 4 s, refusing bambucam's attempts meanwhile
    await waitFor(async () => (await api(gw!)).mqtt.state !== 'connected', 10_000, 'the link down');
    await waitFor(async () => (await api(gw!)).mqtt.state === 'connected', 20_000, 'the link back');
    for (const [i, c] of all.entries()) {
      await waitFor(
        () =>
          c.messages.slice(marks[i]).some((m) => {
            const print = JSON.parse(m.payload).print;
            return print?.msg === 0 && print.ams !== undefined && print.ipcam !== undefined;
          }),
        15_000,
        `${c.name}: the full state after the printer came back`,
      );
    }
    // The P1S pushall limit held bambucam's own pushall back: the full state came from bambucam's merged state.
    expect(sim.stats.pushalls).toBe(1);
    expect(sim.stats.connections).toBe(2);
    expect(js.closes).toBe(0);
    expect(paho.disconnected).toBe(false);
    expect(sub.running).toBe(true);
    const after = (await api(gw)).native.mqtt.clients.map((c) => `${c.remote} ${c.since}`).sort();
    expect(after).toEqual(before);
    // And the printer's reports flow again.
    const sent: string[] = [];
    sim.on('report', (p: string) => sent.push(p));
    await waitFor(() => sent.length > 0, 10_000, 'a report');
    await waitFor(() => all.every((c) => positions(c, [sent[0]]) !== null), 10_000, 'the report everywhere');
  });
});
