import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { idleTuning } from '../../src/app-tuning';
import { buildConfig, ConfigError, loadConfigFile, parseYaml, quickConfig } from '../../src/config/load';
import { configReference, schemaKeys } from '../../src/config/reference';
import { gatewaySchema, printerSchema } from '../../src/config/schema';

const root = join(__dirname, '..', '..');
const example = join(root, 'config', 'bambucam.example.yaml');

describe('configuration', () => {
  test('the example configuration validates, with no skipped printer', () => {
    const { config, problems } = loadConfigFile(example, {});
    expect(problems).toEqual([]);
    expect(config.printers.map((p) => p.id)).toEqual(['garage-p1s', 'studio-a1']);
    expect(config.printers[1].native.rtsps).toBe(false);
    expect(config.printers[1].native.chamber).toEqual({ port: 6001, host: null });
  });

  test('the example file mentions every key of the schema', () => {
    const text = readFileSync(example, 'utf8');
    for (const [key] of [...schemaKeys(gatewaySchema), ...schemaKeys(printerSchema)]) {
      const last = key.split('.').pop();
      expect(text).toMatch(new RegExp(`\\b${last}:`));
    }
  });

  test('docs/configuration.md carries the reference generated from the schema', () => {
    const doc = readFileSync(join(root, 'docs', 'configuration.md'), 'utf8');
    expect(doc).toContain(configReference());
  });

  test('every key has a doc and a default; secrets are sensitive', () => {
    for (const [key, leaf] of [...schemaKeys(gatewaySchema), ...schemaKeys(printerSchema)]) {
      expect(leaf.doc.length).toBeGreaterThan(10);
      expect(leaf).toHaveProperty('default');
      if (/code|password/.test(key)) expect(leaf.sensitive).toBe(true);
    }
  });

  test('a bad printer entry is reported with its key and rule and skipped; the others remain', () => {
    const { config, problems } = buildConfig(
      {
        printers: [
          { host: '192.168.1.50', access_code: '12345678', name: 'Good' },
          { host: 'not a host!', access_code: '12345678' },
          { host: '192.168.1.52' },
          { host: '192.168.1.53', access_code: '11112222', modle: 'P1S' },
        ],
      },
      {},
    );
    expect(config.printers.map((p) => p.name)).toEqual(['Good']);
    expect(problems[0]).toMatch(/^printers\[1\]\.host: must be a host name or IP address/);
    expect(problems[1]).toMatch(/^printers\[2\]\.access_code: is required/);
    expect(problems[2]).toMatch(/^printers\[3\]\.modle: unknown key/);
  });

  test('idle_stop_s is one key for every idle stop: the HLS muxer and the transcoder behind it get half each', () => {
    const { config } = buildConfig({ idle_stop_s: 6 }, {});
    expect(config.idleStopS).toBe(6);
    expect(idleTuning(config.idleStopS)).toEqual({ hlsIdleStopMs: 3000, idleStopMs: 3000 });
    expect(buildConfig({}, {}).config.idleStopS).toBe(10);
    expect(buildConfig({}, { BAMBUCAM_IDLE_STOP_S: '4' }).config.idleStopS).toBe(4);
    expect(() => buildConfig({ idle_stop_s: 0 }, {})).toThrow(
      /idle_stop_s: must be a number of seconds from 1 to 3600/,
    );
  });

  test('global errors name the key', () => {
    expect(() => buildConfig({ http: { port: 99999 } }, {})).toThrow(
      /http\.port: ports must be within range/,
    );
    expect(() => buildConfig({ log: { level: 'loud' } }, {})).toThrow(/log\.level: must be one of/);
  });

  test('YAML syntax errors give the file, line and column', () => {
    expect(() => parseYaml('http:\n  port: 8090\n printers: [\n', 'my.yaml')).toThrow(
      /^my\.yaml:\d+:\d+: YAML syntax error/,
    );
    try {
      parseYaml('a: 1\nb: [1, 2\nc: 3\n', 'x.yaml');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
    }
  });

  test('environment variables override the file', () => {
    const { config } = buildConfig({ http: { port: 1234 } }, { BAMBUCAM_HTTP_PORT: '4321' });
    expect(config.http.port).toBe(4321);
  });

  test('ids are derived, url-safe and unique', () => {
    const { config } = buildConfig(
      {
        printers: [
          { name: 'Garage P1S', host: '10.0.0.1', access_code: 'abcdefgh' },
          { name: 'Garage P1S', host: '10.0.0.2', access_code: 'abcdefgh' },
          { host: '10.0.0.3', access_code: 'abcdefgh', serial: '01P00A1' },
        ],
      },
      {},
    );
    expect(config.printers.map((p) => p.id)).toEqual(['garage-p1s', 'garage-p1s-2', '01p00a1']);
  });

  test('quick mode builds one printer and names the flag in errors', () => {
    const { config } = quickConfig({ ip: '192.168.1.9', accessCode: '12345678', serial: '01P00A1' }, {});
    expect(config.printers[0]).toMatchObject({ id: 'printer', host: '192.168.1.9', serial: '01P00A1' });
    expect(() => quickConfig({ ip: 'bad host', accessCode: '12345678' }, {})).toThrow(
      /^--printer-ip: must be/,
    );
  });

  test('an access code never appears in a validation error', () => {
    const secret = 'Secr3tCode';
    const { problems } = buildConfig({ printers: [{ host: 'bad host', access_code: secret, bogus: 1 }] }, {});
    expect(problems.join('\n')).not.toContain(secret);
    const bad = buildConfig({ printers: [{ host: '10.0.0.1', access_code: `${secret} with spaces` }] }, {});
    expect(bad.problems.join('\n')).not.toContain(secret);
  });
});
