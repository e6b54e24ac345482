/**
 * The Home Assistant add-on (homeassistant-addon/bambucam): its config.yaml against the rules the
 * Supervisor's store applies, and its options translated into a configuration bambucam's own loader
 * accepts (src/addon/options.ts, and the bambucam-addon-config command the add-on runs).
 */
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import YAML from 'yaml';
import { ADDON_HTTP_PORT, type AddonOptions, AddonOptionsError, addonConfig } from '../src/addon/options';
import { buildConfig } from '../src/config/load';
import { MODEL_NAMES } from '../src/protocol/models';

const ROOT = resolve(__dirname, '..');
const ADDON = join(ROOT, 'homeassistant-addon', 'bambucam');
const config = YAML.parse(readFileSync(join(ADDON, 'config.yaml'), 'utf8')) as Record<string, unknown>;
const schema = config.schema as Record<string, unknown>;

// The Supervisor's rules (supervisor/apps/validate.py and options.py), restated.
const SCHEMA_ELEMENT =
  /^(?:|bool|email|url|port|device(?:\(subsystem=[a-z]+\))?|str(?:\(\d*,\d*\))?|password(?:\(\d*,\d*\))?|int(?:\(-?\d*,-?\d*\))?|float(?:\([-\d.]*,[-\d.]*\))?|match\(.*\)|list\(.+\))\??$/;
const ARCH_CURRENT = ['aarch64', 'amd64'];
const MAP_TYPES = [
  'data',
  'ssl',
  'local_apps',
  'backup',
  'share',
  'media',
  'homeassistant_config',
  'all_app_configs',
  'app_config',
];

/** Check options against an add-on schema as the Supervisor does; the problems found. */
function checkOptions(schema: Record<string, unknown>, options: Record<string, unknown>, at = ''): string[] {
  const problems: string[] = [];
  const element = (typ: unknown, value: unknown, key: string): void => {
    if (Array.isArray(typ)) {
      if (!Array.isArray(value)) {
        problems.push(`${key}: not a list`);
        return;
      }
      for (const [i, v] of value.entries()) element(typ[0], v, `${key}[${i}]`);
    } else if (typeof typ === 'object' && typ !== null) {
      if (typeof value !== 'object' || value === null) {
        problems.push(`${key}: not a mapping`);
        return;
      }
      problems.push(
        ...checkOptions(typ as Record<string, unknown>, value as Record<string, unknown>, `${key}.`),
      );
    } else {
      const t = String(typ).replace(/\?$/, '');
      if (value === null || value === undefined) {
        problems.push(`${key}: missing`);
        return;
      }
      const list = /^list\((.+)\)$/.exec(t);
      const match = /^match\((.*)\)$/.exec(t);
      const ok =
        t.startsWith('str') || t.startsWith('password')
          ? typeof value === 'string'
          : t === 'bool'
            ? typeof value === 'boolean'
            : t === 'port'
              ? Number.isInteger(value) && (value as number) > 0 && (value as number) < 65536
              : t === 'url'
                ? URL.canParse(String(value))
                : list
                  ? list[1].split('|').includes(String(value))
                  : match
                    ? new RegExp(match[1]).test(String(value))
                    : t.startsWith('int')
                      ? Number.isInteger(value)
                      : true;
      if (!ok) problems.push(`${key}: ${JSON.stringify(value)} is not ${typ}`);
    }
  };
  for (const [key, value] of Object.entries(options)) {
    if (!(key in schema)) problems.push(`${at}${key}: not in the schema`);
    else element(schema[key], value, `${at}${key}`);
  }
  for (const [key, typ] of Object.entries(schema)) {
    const t = Array.isArray(typ) ? typ[0] : typ;
    if (!(key in options) && !(typeof t === 'string' && t.endsWith('?')))
      problems.push(`${at}${key}: required`);
  }
  return problems;
}

function schemaElements(typ: unknown): string[] {
  if (Array.isArray(typ)) return typ.flatMap(schemaElements);
  if (typeof typ === 'object' && typ !== null) return Object.values(typ).flatMap(schemaElements);
  return [String(typ)];
}

/** Every option set, so a test can tell that each one reaches the configuration. */
const FULL: AddonOptions = {
  printers: [
    {
      name: 'Garage P1S',
      host: '192.168.1.50',
      access_code: '12345678',
      serial: '01P00A123456789',
      model: 'P1S',
      camera: 'chamber',
      viewer_code: '87654321',
      light: 'auto',
    },
    { name: 'Lab X1C', host: '192.168.1.51', access_code: '24681357' },
  ],
  log_level: 'debug',
  mqtt_discovery: true,
  mqtt_url: 'mqtt://192.168.1.2:1883',
  mqtt_username: 'bambucam',
  mqtt_password: 'broker-secret',
  base_url: 'http://192.168.1.20:8090',
  rtsp_username: 'homeassistant',
  rtsp_password: 'rtsp-secret',
};

describe('Home Assistant add-on: config.yaml', () => {
  test('has what the store requires, in the types it requires', () => {
    expect(typeof config.name).toBe('string');
    expect(config.slug).toMatch(/^[-_.A-Za-z0-9]+$/);
    expect(typeof config.description).toBe('string');
    expect(typeof config.version).toBe('string');
    // The add-on installs the npm package of its own version.
    expect(config.version).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
    expect(Array.isArray(config.arch) && (config.arch as string[]).length > 0).toBe(true);
    for (const arch of config.arch as string[]) expect(ARCH_CURRENT).toContain(arch);
    expect(['initialize', 'system', 'services', 'application', 'once']).toContain(config.startup);
    expect(['auto', 'manual']).toContain(config.boot);
    for (const s of config.services as string[]) expect(s).toMatch(/^(mqtt|mysql):(provide|want|need)$/);
  });

  test('the web page through ingress on the HTTP port; its own config folder, writable', () => {
    expect(config.ingress).toBe(true);
    expect(config.ingress_port).toBe(ADDON_HTTP_PORT);
    expect(config.map).toEqual([{ type: 'app_config', read_only: false }]);
    for (const m of config.map as { type: string }[]) expect(MAP_TYPES).toContain(m.type);
  });

  test('ports: container port/protocol to a host port or null, each described and translated', () => {
    const ports = config.ports as Record<string, number | null>;
    const translations = YAML.parse(readFileSync(join(ADDON, 'translations', 'en.yaml'), 'utf8'));
    for (const [key, host] of Object.entries(ports)) {
      expect(key).toMatch(/^\d{1,5}\/(tcp|udp)$/);
      if (host !== null) expect(Number.isInteger(host) && host > 0 && host < 65536).toBe(true);
      expect(typeof (config.ports_description as Record<string, string>)[key]).toBe('string');
      expect(typeof translations.network[key]).toBe('string');
    }
    expect(Object.keys(ports).sort()).toEqual(
      ['322/tcp', '6000/tcp', '6001/tcp', '8090/tcp', '8554/tcp', '8555/udp', '8883/tcp'].sort(),
    );
    for (const key of Object.keys(schema))
      expect([key, typeof translations.configuration[key]?.name]).toEqual([key, 'string']);
  });

  test('schema: every element a type the Supervisor knows; the defaults satisfy it', () => {
    for (const el of schemaElements(schema)) expect([el, SCHEMA_ELEMENT.test(el)]).toEqual([el, true]);
    expect(checkOptions(schema, config.options as Record<string, unknown>)).toEqual([]);
    expect(checkOptions(schema, FULL as Record<string, unknown>)).toEqual([]);
    // The check can fail: a printer without its access code, a model that does not exist.
    expect(checkOptions(schema, { ...FULL, printers: [{ name: 'x', host: 'h' }] })).toEqual([
      'printers[0].access_code: required',
    ]);
    expect(
      checkOptions(schema, { ...FULL, printers: [{ name: 'x', host: 'h', access_code: 'c', model: 'Z9' }] }),
    ).toHaveLength(1);
    // The models offered are bambucam's models.
    const printer = (schema.printers as Record<string, string>[])[0];
    expect(printer.model).toBe(`list(${['auto', ...MODEL_NAMES].join('|')})?`);
  });

  test('the store finds exactly this add-on in the repository, and repository.yaml names it', () => {
    const found: string[] = [];
    const skip = new Set(['node_modules', 'dist', 'build', 'coverage', 'test-artifacts', 'rootfs']);
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        if (name.startsWith('.') || skip.has(name)) continue;
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (/^config\.(json|ya?ml)$/.test(name)) found.push(path.slice(ROOT.length + 1));
      }
    };
    walk(ROOT);
    expect(found).toEqual(['homeassistant-addon/bambucam/config.yaml']);
    const repo = YAML.parse(readFileSync(join(ROOT, 'repository.yaml'), 'utf8'));
    expect(typeof repo.name).toBe('string');
  });

  test('its Dockerfile takes the base image from BUILD_FROM and installs its own version', () => {
    const dockerfile = readFileSync(join(ADDON, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^ARG BUILD_FROM=node:24-\S+-slim$/m);
    expect(dockerfile).toMatch(/^FROM \$BUILD_FROM$/m);
    expect(dockerfile).toMatch(/"bambucam@\$\{BUILD_VERSION\}"/);
    expect(dockerfile).toMatch(/^COPY run\.sh \/run\.sh$/m);
    expect(readFileSync(join(ADDON, 'run.sh'), 'utf8')).toMatch(/bambucam-addon-config/);
    expect(statSync(join(ADDON, 'run.sh')).mode & 0o111).not.toBe(0);
    expect(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).bin['bambucam-addon-config']).toBe(
      'dist/addon/cli.js',
    );
  });
});

describe('Home Assistant add-on: options → bambucam configuration', () => {
  test('every option reaches the configuration, and bambucam accepts it', () => {
    const raw = addonConfig(FULL)!;
    const { config: c, problems } = buildConfig(raw, {});
    expect(problems).toEqual([]);
    expect(c.http).toMatchObject({ port: 8090, host: '0.0.0.0' });
    expect(c.rtsp.port).toBe(8554);
    expect(c.rtsp.users).toEqual([{ username: 'homeassistant', password: 'rtsp-secret' }]);
    expect(c.dataDir).toBe('/data');
    expect(c.log.level).toBe('debug');
    expect(c.homeassistant).toMatchObject({
      url: 'mqtt://192.168.1.2:1883',
      username: 'bambucam',
      password: 'broker-secret',
      baseUrl: 'http://192.168.1.20:8090',
    });
    expect(c.printers.map((p) => p.id)).toEqual(['garage-p1s', 'lab-x1c']);
    expect(c.printers[0]).toMatchObject({
      name: 'Garage P1S',
      host: '192.168.1.50',
      accessCode: '12345678',
      serial: '01P00A123456789',
      model: 'P1S',
      camera: 'chamber',
      viewerCode: '87654321',
      light: 'auto',
    });
    // The defaults of what the options leave out are bambucam's own.
    expect(c.printers[1]).toMatchObject({ model: 'auto', camera: 'auto', viewerCode: null, light: 'off' });
    // Each schema key is used: leaving it out changes the configuration.
    for (const key of Object.keys(schema)) {
      const less = { ...FULL } as Record<string, unknown>;
      delete less[key];
      let changed: boolean;
      try {
        changed = JSON.stringify(addonConfig(less as AddonOptions)) !== JSON.stringify(raw);
      } catch {
        changed = true; // refused without it (rtsp user without password)
      }
      expect([key, changed]).toEqual([key, true]);
    }
  });

  test('the defaults (no printer) run the demo; discovery off means no broker', () => {
    expect(addonConfig(config.options as AddonOptions)).toBeNull();
    const off = addonConfig({ ...FULL, mqtt_discovery: false })!;
    expect((off.homeassistant as { url: unknown }).url).toBeNull();
  });

  test("without mqtt_url, discovery uses the Supervisor's broker", () => {
    const { mqtt_url: _u, mqtt_username: _n, mqtt_password: _p, ...rest } = FULL;
    const raw = addonConfig(rest, {
      host: 'core-mosquitto',
      port: 1883,
      ssl: false,
      username: 'addons',
      password: 'pw',
    })!;
    expect(buildConfig(raw, {}).config.homeassistant).toMatchObject({
      url: 'mqtt://core-mosquitto:1883',
      username: 'addons',
      password: 'pw',
    });
    expect((addonConfig(rest)!.homeassistant as { url: unknown }).url).toBeNull();
  });

  test('a mistake names the option', () => {
    expect(() => addonConfig({ printers: [{ name: 'x', host: '10.0.0.1', access_code: ' ' }] })).toThrow(
      new AddonOptionsError("printers[0].access_code: the printer's LAN access code is required"),
    );
    expect(() => addonConfig({ ...FULL, rtsp_password: undefined })).toThrow(
      /rtsp_username and rtsp_password/,
    );
    // bambucam's loader judges the rest, naming the key and the rule.
    const raw = addonConfig({ printers: [{ name: 'x', host: 'not a host!', access_code: '1' }] });
    expect(buildConfig(raw, {}).problems[0]).toMatch(/^printers\[0\]\.host: /);
  });
});

describe('bambucam-addon-config (the add-on runs it before bambucam)', () => {
  const CLI = join(ROOT, 'dist', 'addon', 'cli.js');

  function run(args: string[], env: NodeJS.ProcessEnv = {}) {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => {
      stdout += c;
    });
    child.stderr.on('data', (c) => {
      stderr += c;
    });
    return new Promise<{ code: number | null; stdout: string; stderr: string }>((res) =>
      child.once('exit', (code) => res({ code, stdout, stderr })),
    );
  }

  function files(options: unknown) {
    const dir = mkdtempSync(join(tmpdir(), 'bambucam-addon-'));
    writeFileSync(join(dir, 'options.json'), JSON.stringify(options));
    const args = [
      '--options',
      join(dir, 'options.json'),
      '--out',
      join(dir, 'bambucam.yaml'),
      '--user-config',
      join(dir, 'config', 'bambucam.yaml'),
    ];
    return { dir, args, out: join(dir, 'bambucam.yaml') };
  }

  test('writes the configuration (readable by its owner only) and asks the Supervisor for the broker', async () => {
    const { mqtt_url: _u, mqtt_username: _n, mqtt_password: _p, ...options } = FULL;
    const seen: IncomingHttpHeaders[] = [];
    const supervisor = createServer((req, res) => {
      seen.push(req.headers);
      expect(req.url).toBe('/services/mqtt');
      res.setHeader('Content-Type', 'application/json');
      res.end(
        JSON.stringify({
          result: 'ok',
          data: { host: 'core-mosquitto', port: 1883, ssl: false, username: 'addons', password: 'pw' },
        }),
      );
    });
    await new Promise<void>((r) => supervisor.listen(0, '127.0.0.1', r));
    const f = files(options);
    try {
      const r = await run(f.args, {
        SUPERVISOR_TOKEN: 'tok',
        BAMBUCAM_SUPERVISOR_URL: `http://127.0.0.1:${(supervisor.address() as AddressInfo).port}`,
      });
      expect(r.code).toBe(0);
      expect(r.stdout.trim()).toBe(f.out);
      expect(seen.map((h) => h.authorization)).toEqual(['Bearer tok']);
      expect(statSync(f.out).mode & 0o777).toBe(0o600);
      const written = buildConfig(YAML.parse(readFileSync(f.out, 'utf8')), {});
      expect(written.problems).toEqual([]);
      expect(written.config.homeassistant.url).toBe('mqtt://core-mosquitto:1883');
      expect(written.config.printers).toHaveLength(2);
      expect(r.stderr).toMatch(/core-mosquitto:1883/);
      expect(r.stderr + r.stdout).not.toMatch(/12345678|24681357|87654321/);
    } finally {
      supervisor.close();
    }
  });

  test('no printer: prints nothing (the add-on runs the demo); a user bambucam.yaml wins', async () => {
    const f = files({ printers: [], log_level: 'info', mqtt_discovery: true });
    const none = await run(f.args);
    expect(none).toMatchObject({ code: 0, stdout: '' });
    expect(none.stderr).toMatch(/running the demo/);
    expect(existsSync(f.out)).toBe(false);
    const userConfig = f.args[f.args.indexOf('--user-config') + 1];
    mkdirSync(join(f.dir, 'config'));
    writeFileSync(userConfig, 'printers: []\n');
    const user = await run(f.args);
    expect(user).toMatchObject({ code: 0, stdout: `${userConfig}\n` });
  });

  test('options that make no usable printer: exit 2, the key named, no code shown', async () => {
    const f = files({
      printers: [{ name: 'x', host: 'not a host!', access_code: '31415926' }],
      mqtt_discovery: false,
    });
    const r = await run(f.args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/printers\[0\]\.host/);
    expect(r.stderr).toMatch(/no usable printer/);
    expect(r.stderr).not.toMatch(/31415926/);
    expect(existsSync(f.out)).toBe(false);
  });
});
