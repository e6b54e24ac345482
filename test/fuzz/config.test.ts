/**
 * The configuration loader (src/config/load.ts). Contract: any YAML text and any parsed value either
 * load (with per-printer problems listed) or throw ConfigError naming what is wrong — never another
 * error, never a hang, and never an access code in a message.
 */
import fc from 'fast-check';
import { buildConfig, ConfigError, parseYaml } from '../../src/config/load';
import { RUNS } from './chunks';

const SECRET = 'sekret-code-42';
const scalar = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom('0.0.0.0', '127.0.0.1', 'auto', 'P1S', 'chamber', 'viewer_only', '12345678'),
);
const { value } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    scalar,
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(
      fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('port', 'host', 'users', 'level')),
      tie('value'),
      {
        maxKeys: 4,
      },
    ),
  ),
}));
const printer = fc.record(
  {
    id: scalar,
    name: scalar,
    host: fc.oneof(scalar, fc.constant('192.168.1.50')),
    access_code: fc.oneof(
      scalar,
      fc.constant(SECRET),
      fc.constant(`${SECRET} with spaces`),
      fc.constant([SECRET]),
    ),
    serial: scalar,
    model: scalar,
    camera: scalar,
    viewer_code: fc.oneof(scalar, fc.constant(SECRET)),
    native_auth: scalar,
    native: value,
    ports: value,
    tls: value,
    h264_fps: scalar,
    __proto__: value,
  },
  { requiredKeys: [] },
);
const config = fc.record(
  {
    http: value,
    rtsp: value,
    limits: value,
    log: value,
    homeassistant: value,
    data_dir: scalar,
    printers: fc.oneof(value, fc.array(fc.oneof(printer, value), { maxLength: 4 })),
    constructor: value,
  },
  { requiredKeys: [] },
);

function loads(raw: unknown): void {
  try {
    const { config: c, problems } = buildConfig(raw, {});
    expect(Array.isArray(c.printers)).toBe(true);
    for (const p of problems) expect(p).not.toContain(SECRET);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    expect(err.message).not.toContain(SECRET);
  }
}

describe('configuration loader', () => {
  test('any value: a configuration or a ConfigError', () => {
    fc.assert(fc.property(fc.oneof(config, value, fc.anything({ maxDepth: 3 })), loads), RUNS);
  });

  test('an alias inside its own anchor is refused by name, not walked forever', () => {
    expect(() => buildConfig(parseYaml('http: &h {port: *h}'), {})).toThrow(
      new ConfigError('http.port: refers to itself (a YAML alias inside its own anchor)'),
    );
    // An alias used twice is fine.
    const { config: c } = buildConfig(parseYaml('http: &p {port: 8091}\nrtsp: *p'), {});
    expect(c.http.port).toBe(8091);
  });

  test('any YAML text: a configuration or a ConfigError', () => {
    const yamlish = fc
      .array(
        fc.oneof(
          fc.string({ maxLength: 30 }),
          fc.constantFrom(
            'printers:',
            '  - host: 1.2.3.4',
            '    access_code: x',
            '&a [*a]',
            '!!binary AAAA',
            '? [a]',
            '- *x',
            'a: &b {c: *b}',
            '%YAML 1.2',
            '---',
            '...',
            '"\\u0000"',
            '!!js/function f',
          ),
        ),
        { maxLength: 12 },
      )
      .map((lines) => lines.join('\n'));
    fc.assert(
      fc.property(yamlish, (text) => {
        let raw: unknown;
        try {
          raw = parseYaml(text, 'fuzz.yaml');
        } catch (err) {
          if (!(err instanceof ConfigError)) throw err;
          return;
        }
        loads(raw);
      }),
      RUNS,
    );
  });
});
