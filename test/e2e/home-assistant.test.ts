import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { App } from '../../src/app';
import { buildConfig } from '../../src/config/load';
import { type SimulatedPrinter, startFleet, stopFleet } from '../../src/simulator/fleet';
import { startCli } from '../cli-process';
import { haSchemaProblems } from '../ha-schema';
import { captureLogs, FAST_TUNING, httpGet, spec, waitFor } from '../helpers';
import { MjpegClient } from '../mjpeg-client';
import { freePort, type Mosquitto, observe, retained, startMosquitto } from '../mosquitto';

const CONFIG_PATTERN = 'homeassistant/+/bambucam/+/config';

describe('Home Assistant MQTT discovery (real mosquitto)', () => {
  let mosquitto: Mosquitto;
  let fleet: SimulatedPrinter[] = [];
  const apps: App[] = [];

  beforeEach(async () => {
    mosquitto = await startMosquitto();
  });
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.stop();
    await stopFleet(fleet);
    fleet = [];
    await mosquitto.stop();
  });

  async function boot(printers: SimulatedPrinter[], ha: Record<string, unknown> = {}): Promise<App> {
    const { config } = buildConfig({
      http: { port: 0, host: '127.0.0.1' },
      homeassistant: { url: mosquitto.url, ...ha },
      printers: printers.map((p) => p.configEntry()),
    });
    const app = new App({ config, tuning: { ...FAST_TUNING, haStateIntervalMs: 200 } });
    apps.push(app);
    await app.start();
    return app;
  }

  const configsFor = (all: Map<string, string>, id: string) =>
    [...all].filter(([topic, payload]) => topic.includes(`/bambucam/${id}_`) && payload !== '');

  test('each printer gets a device with an image, a connectivity binary_sensor and two sensors, valid per the schema', async () => {
    fleet = await startFleet([spec({ fps: 5 }), spec({ model: 'A1', serial: '03900A000000042', fps: 5 })]);
    const app = await boot(fleet, { image_interval_s: 1 });
    const base = `http://127.0.0.1:${app.httpPort}`;
    const all = await waitFor(
      async () => {
        const r = await retained(mosquitto.url, CONFIG_PATTERN);
        return r.size === 8 ? r : null;
      },
      20_000,
      'eight retained discovery configs',
    );
    const uniqueIds = new Set<string>();
    for (const p of fleet) {
      const entries = configsFor(all!, p.spec.id);
      expect(entries.map(([t]) => t.split('/')[1]).sort()).toEqual([
        'binary_sensor',
        'image',
        'sensor',
        'sensor',
      ]);
      for (const [topic, payload] of entries) {
        const component = topic.split('/')[1];
        const config = JSON.parse(payload);
        expect(haSchemaProblems(component, config)).toEqual([]);
        uniqueIds.add(config.unique_id);
        expect(config.device).toMatchObject({
          identifiers: [`bambucam_${p.spec.serial.toLowerCase()}`],
          name: p.spec.name,
          manufacturer: 'Bambu Lab',
          model: p.spec.model,
          serial_number: p.spec.serial,
          configuration_url: `${base}/`,
        });
        expect(config.availability).toEqual([{ topic: 'bambucam/status' }]);
      }
      const byComponent = Object.fromEntries(
        entries.map(([t, c]) => [t.split('/').slice(1, 4).join('/'), JSON.parse(c)]),
      );
      expect(byComponent[`image/bambucam/${p.spec.id}_camera`].url_topic).toBe(
        `bambucam/${p.spec.id}/image_url`,
      );
      expect(byComponent[`binary_sensor/bambucam/${p.spec.id}_stream`].device_class).toBe('connectivity');
      expect(byComponent[`sensor/bambucam/${p.spec.id}_fps`].unit_of_measurement).toBe('fps');
      expect(byComponent[`sensor/bambucam/${p.spec.id}_viewers`].state_topic).toBe(
        `bambucam/${p.spec.id}/viewers`,
      );
    }
    expect(uniqueIds.size).toBe(8);

    // States, and the picture: the URL on the image topic serves a JPEG.
    const id = fleet[0].spec.id;
    const states = await waitFor(
      async () => {
        const r = await retained(mosquitto.url, `bambucam/${id}/#`);
        return r.get(`bambucam/${id}/stream`) === 'ON' && Number(r.get(`bambucam/${id}/fps`)) > 0 ? r : null;
      },
      20_000,
      'stream ON and fps > 0',
    );
    expect(states!.get(`bambucam/${id}/viewers`)).toBe('0');
    expect((await retained(mosquitto.url, 'bambucam/status')).get('bambucam/status')).toBe('online');
    const url = states!.get(`bambucam/${id}/image_url`)!;
    expect(url.startsWith(`${base}/printers/${id}/snapshot.jpg`)).toBe(true);
    const picture = await httpGet(url);
    expect(picture.status).toBe(200);
    expect(picture.body.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));

    // A viewer shows in the viewers sensor; new frames give Home Assistant a new picture URL.
    const viewer = new MjpegClient(`${base}/printers/${id}/stream.mjpeg`);
    await viewer.waitForParts(1);
    const later = await waitFor(
      async () => {
        const r = await retained(mosquitto.url, `bambucam/${id}/#`);
        return r.get(`bambucam/${id}/viewers`) === '1' && r.get(`bambucam/${id}/image_url`) !== url
          ? r
          : null;
      },
      20_000,
      'viewers 1 and a refreshed image URL',
    );
    viewer.close();
    expect(later!.get(`bambucam/${id}/image_url`)).toMatch(
      new RegExp(`^${base}/printers/${id}/snapshot\\.jpg\\?t=\\d+$`),
    );
    await waitFor(
      async () =>
        (await retained(mosquitto.url, `bambucam/${id}/viewers`)).get(`bambucam/${id}/viewers`) === '0',
      20_000,
      'viewers back to 0',
    );
  });

  test('bambucam started before the broker publishes discovery once the broker comes up, and logs the wait once', async () => {
    const logs = captureLogs('debug');
    try {
      const port = await freePort();
      await mosquitto.stop();
      fleet = await startFleet([spec({ fps: 2 })]);
      const { config } = buildConfig({
        http: { port: 0, host: '127.0.0.1' },
        homeassistant: { url: `mqtt://bambucam:pw-in-url@127.0.0.1:${port}` },
        printers: fleet.map((p) => p.configEntry()),
      });
      const app = new App({ config, tuning: { ...FAST_TUNING, haStateIntervalMs: 200, haReconnectMs: 200 } });
      apps.push(app);
      await app.start();
      const attempts = () => logs.lines.filter((l) => l.includes('[homeassistant] reconnecting')).length;
      await waitFor(() => attempts() >= 3, 20_000, 'three more attempts');
      mosquitto = await startMosquitto(port);
      await waitFor(
        async () => (await retained(mosquitto.url, CONFIG_PATTERN)).size === 4,
        20_000,
        'configs',
      );
      const warnings = logs.lines.filter((l) => l.includes(' WARN  [homeassistant]'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain('ECONNREFUSED');
      for (const l of logs.lines) expect(l).not.toContain('pw-in-url');
    } finally {
      logs.restore();
    }
  });

  test('availability flips to offline when bambucam is killed (retained last will)', async () => {
    fleet = await startFleet([spec({ fps: 2 })]);
    const dir = mkdtempSync(join(tmpdir(), 'bambucam-ha-'));
    const file = join(dir, 'bambucam.yaml');
    writeFileSync(
      file,
      YAML.stringify({
        http: { port: 0, host: '127.0.0.1' },
        homeassistant: { url: mosquitto.url },
        printers: fleet.map((p) => p.configEntry()),
      }),
    );
    const run = startCli(['run', '--config', file]);
    try {
      const watcher = await observe(mosquitto.url, 'bambucam/status');
      await waitFor(
        () => watcher.messages.some((m) => m.payload === 'online'),
        20_000,
        `bambucam/status online (output: ${run.output()})`,
      );
      await waitFor(
        async () => (await retained(mosquitto.url, CONFIG_PATTERN)).size === 4,
        20_000,
        'configs',
      );
      run.child.kill('SIGKILL');
      await run.exited;
      await waitFor(() => watcher.messages.at(-1)?.payload === 'offline', 20_000, 'offline from the will');
      expect((await retained(mosquitto.url, 'bambucam/status')).get('bambucam/status')).toBe('offline');
      await watcher.client.endAsync();
    } finally {
      if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
      await run.exited;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('discovery is published again when Home Assistant announces online on homeassistant/status', async () => {
    fleet = await startFleet([spec({ fps: 2 })]);
    await boot(fleet);
    const id = fleet[0].spec.id;
    const topic = `homeassistant/image/bambucam/${id}_camera/config`;
    await waitFor(async () => (await retained(mosquitto.url, topic)).has(topic), 20_000, 'image config');
    // Home Assistant lost its state (a new broker without retained messages, say): clear it, then restart HA.
    const ha = await observe(mosquitto.url, topic);
    await ha.client.publishAsync(topic, '', { retain: true, qos: 1 });
    await waitFor(async () => !(await retained(mosquitto.url, topic)).has(topic), 10_000, 'config cleared');
    await ha.client.publishAsync('homeassistant/status', 'online', { qos: 1 });
    await waitFor(
      async () => (await retained(mosquitto.url, topic)).get(topic)?.includes('"url_topic"'),
      10_000,
      're-published',
    );
    await ha.client.endAsync();
  });

  test('a printer removed from the configuration gets empty retained configs, so Home Assistant deletes its entities', async () => {
    fleet = await startFleet([spec({ fps: 2 }), spec({ fps: 2 })]);
    const first = await boot(fleet);
    const [keep, gone] = fleet.map((p) => p.spec.id);
    await waitFor(
      async () => (await retained(mosquitto.url, CONFIG_PATTERN)).size === 8,
      20_000,
      'eight configs',
    );
    await first.stop();
    apps.splice(apps.indexOf(first), 1);

    const watcher = await observe(mosquitto.url, CONFIG_PATTERN);
    await boot([fleet[0]]);
    await waitFor(
      () => watcher.messages.filter((m) => m.topic.includes(`/${gone}_`) && m.payload === '').length === 4,
      20_000,
      'four empty configs for the removed printer',
    );
    const left = await retained(mosquitto.url, CONFIG_PATTERN);
    expect([...left.keys()].every((t) => t.includes(`/${keep}_`))).toBe(true);
    expect(left.size).toBe(4);
    await watcher.client.endAsync();
  });
});
