import { App } from '../../src/app';
import { buildConfig } from '../../src/config/load';
import { type SimulatedPrinter, startFleet, stopFleet } from '../../src/simulator/fleet';
import { captureLogs, FAST_TUNING, httpGet, httpJson, spec, waitFor } from '../helpers';
import { MjpegClient } from '../mjpeg-client';
import { type Mosquitto, observe, startMosquitto } from '../mosquitto';

interface Api {
  printers: { id: string; mqtt: { state: string }; source: { state: string }; light: { state?: string } }[];
}

describe('secrets never leak', () => {
  let mosquitto: Mosquitto;
  let fleet: SimulatedPrinter[] = [];
  let app: App | undefined;
  afterEach(async () => {
    await app?.stop();
    await stopFleet(fleet);
    await mosquitto?.stop();
  });

  test('no log line, MQTT payload (printer or Home Assistant broker) or API answer contains an access code or the broker password', async () => {
    const logs = captureLogs('debug');
    try {
      mosquitto = await startMosquitto();
      const everything = await observe(mosquitto.url, '#');
      fleet = await startFleet([
        spec({ accessCode: 'Good1234', fps: 5, mqtt: { developerMode: false } }),
        spec({ accessCode: 'Real5678', fps: 5, mqtt: true }),
        spec({ model: 'X1C', serial: '00M00A000000321', accessCode: 'Xone9012', mqtt: true }),
      ]);
      const wrong = 'Wrong000';
      const password = 'broker-secret-pw';
      const { config } = buildConfig({
        http: { port: 0, host: '127.0.0.1' },
        homeassistant: { url: mosquitto.url, username: 'bambucam', password },
        printers: [
          { ...fleet[0].autoEntry(), light: 'auto' },
          { ...fleet[1].autoEntry(), access_code: wrong },
          fleet[2].autoEntry(),
        ],
      });
      app = new App({ config, tuning: { ...FAST_TUNING, haStateIntervalMs: 200, lightOffDelayMs: 100 } });
      await app.start();
      const base = `http://127.0.0.1:${app.httpPort}`;
      const [good, bad, x1] = fleet.map((p) => p.spec.id);

      const viewer = new MjpegClient(`${base}/printers/${good}/stream.mjpeg`);
      await viewer.waitForParts(2);
      const answers: string[] = [];
      await waitFor(
        async () => {
          const api = await httpJson<Api>(`${base}/api/printers`);
          const by = Object.fromEntries(api.printers.map((p) => [p.id, p]));
          return (
            by[good].light.state === 'refused' &&
            by[bad].mqtt.state === 'auth_failed' &&
            by[bad].source.state === 'auth_failed' &&
            by[x1].mqtt.state === 'connected'
          );
        },
        20_000,
        'light refused, wrong code reported, X1C connected',
      );
      viewer.close();
      await waitFor(
        () => everything.messages.some((m) => m.topic === `bambucam/${good}/stream` && m.payload === 'ON'),
        20_000,
        'states',
      );
      for (const path of [
        '/api/printers',
        `/api/printers/${good}`,
        `/api/printers/${bad}`,
        `/api/printers/${x1}`,
        '/healthz',
        '/metrics',
      ]) {
        answers.push((await httpGet(`${base}${path}`)).body.toString());
      }
      await app.stop();
      app = undefined;

      const secrets = ['Good1234', 'Real5678', 'Xone9012', wrong, password];
      const haPayloads = everything.messages.map((m) => `${m.topic} ${m.payload}`);
      const printerRequests = fleet.flatMap((p) => p.mqtt?.requests ?? []).map((r) => JSON.stringify(r));
      expect(logs.lines.length).toBeGreaterThan(10);
      expect(haPayloads.length).toBeGreaterThan(10);
      expect(printerRequests.length).toBeGreaterThan(3);
      for (const secret of secrets) {
        for (const text of [...logs.lines, ...haPayloads, ...printerRequests, ...answers])
          expect(text).not.toContain(secret);
      }
      await everything.client.endAsync();
    } finally {
      logs.restore();
    }
  });
});
