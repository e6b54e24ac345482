/**
 * No access code (nor viewer code) in any log line, API answer or MQTT payload bambucam publishes on
 * its native MQTT server — even when the printer itself sends its code to every subscriber, as it
 * does when another client (Bambu Studio connected directly, say) asks for `get_access_code`.
 */
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import type { NativeMqttStatusJson } from '../../src/serve/native-mqtt/mqtt-server';
import { captureLogs, type Gateway, httpGet, httpJson, spec, startGateway, waitFor } from '../helpers';
import {
  MosquittoSub,
  MqttJsClient,
  mosquittoPub,
  PahoClient,
  type Recorder,
  reportTopic,
  requestTopic,
  type Target,
  waitForMessage,
} from '../mqtt-clients';

jest.setTimeout(90_000);

const CODE = 'Sec12345';
const VIEWER = 'Look6789';

test('no log line, API answer or MQTT payload bambucam publishes contains the access code or the viewer code', async () => {
  const logs = captureLogs('debug');
  let gw: Gateway | undefined;
  const closers: { close(): Promise<void> }[] = [];
  try {
    gw = await startGateway([spec({ accessCode: CODE, fps: 2, mqtt: { reportIntervalMs: 500 } })], {
      entry: () => ({ viewer_code: VIEWER }),
    });
    const id = gw.fleet[0].spec.id;
    const sim = gw.fleet[0].mqtt!;
    const status = await waitFor(
      async () => {
        const a = await httpJson<{ mqtt: { state: string }; native: { mqtt: NativeMqttStatusJson } }>(
          `${gw!.base}/api/printers/${id}`,
        );
        return a.mqtt.state === 'connected' ? a.native.mqtt : null;
      },
      20_000,
      'the link',
    );
    const t: Target = {
      port: status.port,
      serial: gw.fleet[0].spec.serial,
      code: CODE,
      cafile: join(gw.dataDir, 'tls', 'ca.crt'),
    };
    const js = new MqttJsClient('mqtt.js rw', t);
    const viewer = new PahoClient('paho viewer', t, { code: VIEWER });
    const sub = new MosquittoSub('mosquitto_sub #', t, { topic: '#' });
    closers.push(js, viewer, sub);
    await js.connected();
    await js.client.subscribeAsync('#');
    expect(await viewer.connack()).toBe(0);
    const all: Recorder[] = [js, viewer, sub];
    await waitFor(() => all.every((c) => c.messages.length > 0), 20_000, 'first reports');

    // Someone connected to the printer directly asks for the code: the printer tells every subscriber,
    // bambucam's link included. bambucam's clients see stars.
    const direct = await connectAsync(`mqtts://127.0.0.1:${sim.port}`, {
      username: 'bblp',
      password: CODE,
      rejectUnauthorized: false,
      reconnectPeriod: 0,
    });
    await direct.publishAsync(
      requestTopic(t),
      JSON.stringify({ system: { sequence_id: '31', command: 'get_access_code' } }),
    );
    await direct.endAsync();
    for (const c of all) {
      const m = await waitForMessage(
        c,
        (x) => x.system?.command === 'get_access_code',
        10_000,
        'the code, hidden',
      );
      expect(m.system.access_code).toBe('********');
    }
    // bambucam's own clients asking for it: never forwarded.
    await js.client.publishAsync(
      requestTopic(t),
      JSON.stringify({ system: { sequence_id: '32', command: 'get_access_code' } }),
    );
    await mosquittoPub(t, JSON.stringify({ system: { sequence_id: '33', command: 'get_access_code' } }));
    viewer.publish(JSON.stringify({ system: { sequence_id: '34', command: 'get_access_code' } }));
    // Answers bambucam makes itself, wrong logins, a command.
    await js.client.publishAsync(
      requestTopic(t),
      JSON.stringify({ pushing: { sequence_id: '35', command: 'pushall' } }),
    );
    await js.client.publishAsync(
      requestTopic(t),
      JSON.stringify({ info: { sequence_id: '36', command: 'get_version' } }),
    );
    await waitForMessage(js, (x) => x.print?.sequence_id === '35', 10_000, 'pushall answer');
    await waitForMessage(js, (x) => x.info?.sequence_id === '36', 10_000, 'get_version answer');
    await mosquittoPub(t, '{}', { code: 'Wrong000' });
    const wrong = new PahoClient('paho wrong', t, { code: `${CODE}x` });
    closers.push(wrong);
    expect(await wrong.connack()).toBe(5);
    await mosquittoPub(t, JSON.stringify({ print: { sequence_id: '37', command: 'pause' } }), {
      code: VIEWER,
    });
    await waitFor(
      async () =>
        (await httpJson<{ native: { mqtt: NativeMqttStatusJson } }>(`${gw!.base}/api/printers/${id}`)).native
          .mqtt.commands.withheld === 3,
      10_000,
      'three get_access_code withheld',
    );
    expect(sim.stats.accessCodeRequests).toBe(1); // the direct client's only

    const answers: string[] = [];
    for (const path of ['/api/printers', `/api/printers/${id}`, '/metrics', '/healthz'])
      answers.push((await httpGet(`${gw.base}${path}`)).body.toString());
    await Promise.all(closers.map((c) => c.close()));
    await gw.stop();
    gw = undefined;

    // Subscribed to '#', they saw nothing but this printer's reports.
    for (const c of all) for (const m of c.messages) expect(m.topic).toBe(reportTopic(t));
    const payloads = all.flatMap((c) => c.messages.map((m) => m.payload));
    expect(payloads.length).toBeGreaterThanOrEqual(10); // reports, the hidden code, bambucam's own answers
    expect(payloads.some((p) => p.includes('"access_code":"********"'))).toBe(true);
    for (const secret of [CODE, VIEWER]) {
      for (const p of payloads) expect(p).not.toContain(secret);
      for (const a of answers) expect(a).not.toContain(secret);
      for (const line of logs.lines) expect(line).not.toContain(secret);
    }
    expect(logs.lines.some((l) => l.includes('[native-mqtt]'))).toBe(true);
    expect(logs.lines.some((l) => /get_access_code is never forwarded/.test(l))).toBe(true);
    expect(logs.lines.some((l) => /failed authentications? from 127\.0\.0\.1/.test(l))).toBe(true);
  } finally {
    logs.restore();
    await Promise.all(closers.map((c) => c.close()));
    await gw?.stop();
  }
});
