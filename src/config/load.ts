/**
 * Reading and validating configuration: YAML file, quick single-printer mode, environment.
 * Errors name the key and the rule; a bad printer entry is reported and skipped.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import convict from 'convict';
import YAML from 'yaml';
import { registerSecret } from '../log';
import { type CameraKind, modelByName } from '../protocol/models';
import type { WebrtcConfig } from '../webrtc/webrtc-output';
import { gatewaySchema, printerSchema } from './schema';

export interface NativeOutputConfig {
  port: number;
  host: string | null;
}

export interface PrinterConfig {
  id: string;
  name: string;
  host: string;
  accessCode: string;
  serial: string | null;
  /** Canonical model name (see protocol/models.ts) or 'auto'. */
  model: string;
  camera: 'auto' | CameraKind;
  viewerCode: string | null;
  /** Which codes open the native servers: the access code or viewerCode, or viewerCode only. */
  nativeAuth: 'printer_or_viewer' | 'viewer_only';
  /** Use the printer's MQTT link (only when a serial is known). */
  mqtt: boolean;
  light: 'off' | 'auto';
  ports: { chamber: number; rtsps: number; mqtt: number };
  tls: { fingerprint: string | null; caFile: string | null };
  native: {
    chamber: NativeOutputConfig | false;
    rtsps: NativeOutputConfig | false;
    /** The printer's MQTT re-served (src/serve/native-mqtt/). */
    mqtt: NativeOutputConfig | false;
  };
  /** RTSPS printers: use arrival time instead of the printer's RTP timestamps. */
  rtspsWallclock: boolean;
  /** Chamber printers: constant frame rate of the H.264 made from JPEGs. */
  h264Fps: number;
  /** RTSPS printers: JPEG pictures per second made from H.264. */
  jpegFps: number;
}

export interface HomeAssistantConfig {
  /** Broker URL; null: discovery off. */
  url: string | null;
  username: string | null;
  password: string | null;
  discoveryPrefix: string;
  baseTopic: string;
  /** HTTP base URL Home Assistant uses to reach bambucam; null: derived from http host/port. */
  baseUrl: string | null;
  imageIntervalS: number;
}

/** Per-address limits of the outputs' listeners (src/serve/guard), in ms. */
/** The `limits:` keys as written in the configuration (and shown back by the guards' status). */
export interface LimitsKeys {
  pending_per_address: number;
  pending_total: number;
  failures_before_delay: number;
  failure_window_s: number;
  delays_s: number[];
  refuse_s: number;
}

export interface LimitsConfig {
  pendingPerAddress: number;
  pendingTotal: number;
  failuresBeforeDelay: number;
  failureWindowMs: number;
  delaysMs: number[];
  refuseMs: number;
}

export interface GatewayConfig {
  http: {
    port: number;
    host: string;
    users: { username: string; password: string; token?: string }[];
    /** null: "*" while no users, none once users are configured. */
    corsOrigins: string[] | null;
  };
  rtsp: { port: number; host: string; users: { username: string; password: string }[] };
  /** Absolute path of the directory for bambucam's own state (CA, certificates). */
  dataDir: string;
  log: { level: 'debug' | 'info' | 'warn' | 'error' };
  /** Seconds within which a transcoder or HLS muxer stops after its last viewer left. */
  idleStopS: number;
  limits: LimitsConfig;
  homeassistant: HomeAssistantConfig;
  webrtc: WebrtcConfig;
  printers: PrinterConfig[];
}

export interface LoadedConfig {
  config: GatewayConfig;
  /** Printer entries that were skipped, each message naming the key and the rule. */
  problems: string[];
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

/** Parse YAML text; syntax errors say the file, line and column. */
export function parseYaml(text: string, file = 'config'): unknown {
  try {
    return YAML.parse(text) ?? {};
  } catch (err) {
    if (err instanceof YAML.YAMLError && err.linePos) {
      const { line, col } = err.linePos[0];
      const first = err.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
      throw new ConfigError(`${file}:${line}:${col}: YAML syntax error: ${first}`);
    }
    throw new ConfigError(`${file}: YAML syntax error: ${(err as Error).message}`);
  }
}

function validated<T>(schema: object, value: unknown, env: Env, prefix: string): T {
  const conf = convict(schema as convict.Schema<T>, { env, args: [] });
  try {
    conf.load(value as Partial<T>);
    conf.validate({ allowed: 'strict' });
  } catch (err) {
    const lines = String((err as Error).message)
      .split('\n')
      .map((line) =>
        line.replace(
          /^configuration param '([^']+)' not declared in the schema$/,
          '$1: unknown key (check the spelling)',
        ),
      )
      .map((line) => prefix + line);
    throw new ConfigError(lines.join('\n'));
  }
  return conf.getProperties();
}

const slug = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63);

function toPrinter(raw: Record<string, unknown>, index: number, taken: Set<string>): PrinterConfig {
  const p = raw as {
    id: string | null;
    name: string | null;
    host: string;
    access_code: string;
    serial: string | null;
    model: string;
    camera: 'auto' | CameraKind;
    viewer_code: string | null;
    native_auth: 'printer_or_viewer' | 'viewer_only';
    mqtt: boolean;
    light: 'off' | 'auto';
    ports: { chamber: number; rtsps: number; mqtt: number };
    tls: { fingerprint: string | null; ca_file: string | null };
    native: {
      chamber: { port: number; host?: string } | false;
      rtsps: { port: number; host?: string } | false;
      mqtt: { port: number; host?: string } | false;
    };
    rtsps_wallclock: boolean;
    h264_fps: number;
    jpeg_fps: number;
  };
  const key = `printers[${index}]`;
  if (!p.host) throw new ConfigError(`${key}.host: is required: the printer's IP address or host name`);
  registerSecret(p.access_code);
  registerSecret(p.viewer_code);
  let id =
    p.id ??
    (slug(p.name ?? '') || (p.serial ? slug(p.serial) : '') || slug(p.host) || `printer-${index + 1}`);
  if (p.id && taken.has(id))
    throw new ConfigError(`${key}.id: "${id}" is used by another printer; ids must be unique`);
  if (!p.id) {
    const base = id;
    for (let n = 2; taken.has(id); n++) id = `${base}-${n}`;
  }
  if (p.native_auth === 'viewer_only' && !p.viewer_code) {
    throw new ConfigError(
      `${key}.native_auth: viewer_only needs a viewer_code, or no code would open the native servers`,
    );
  }
  const native = (v: { port: number; host?: string } | false): NativeOutputConfig | false =>
    v === false ? false : { port: v.port, host: v.host ?? null };
  return {
    id,
    name: p.name ?? id,
    host: p.host,
    accessCode: p.access_code,
    serial: p.serial,
    model: p.model === 'auto' ? 'auto' : modelByName(p.model)!.name,
    camera: p.camera,
    viewerCode: p.viewer_code,
    nativeAuth: p.native_auth,
    mqtt: p.mqtt,
    light: p.light,
    ports: { ...p.ports },
    tls: { fingerprint: p.tls.fingerprint, caFile: p.tls.ca_file },
    native: {
      chamber: native(p.native.chamber),
      rtsps: native(p.native.rtsps),
      mqtt: native(p.native.mqtt),
    },
    rtspsWallclock: p.rtsps_wallclock,
    h264Fps: p.h264_fps,
    jpegFps: p.jpeg_fps,
  };
}

/**
 * The dotted path of a value that contains itself (a YAML alias inside its own anchor), or null.
 * convict would walk such a value forever.
 */
function selfReference(value: unknown, path: string, within: Set<object>): string | null {
  if (typeof value !== 'object' || value === null) return null;
  if (within.has(value)) return path || 'configuration';
  within.add(value);
  for (const [key, child] of Object.entries(value)) {
    const found = selfReference(
      child,
      Array.isArray(value) ? `${path}[${key}]` : path ? `${path}.${key}` : key,
      within,
    );
    if (found) return found;
  }
  within.delete(value);
  return null;
}

/** Validate a parsed configuration object. Global errors throw; bad printers become `problems`. */
export function buildConfig(raw: unknown, env: Env = process.env): LoadedConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(
      'configuration: must be a mapping of keys (http, rtsp, limits, log, homeassistant, printers)',
    );
  }
  const loop = selfReference(raw, '', new Set());
  if (loop) throw new ConfigError(`${loop}: refers to itself (a YAML alias inside its own anchor)`);
  const base = validated<{
    http: Omit<GatewayConfig['http'], 'corsOrigins'> & { cors_origins: string[] | null };
    rtsp: GatewayConfig['rtsp'];
    data_dir: string;
    idle_stop_s: number;
    log: GatewayConfig['log'];
    webrtc: WebrtcConfig;
    limits: LimitsKeys;
    homeassistant: {
      url: string | null;
      username: string | null;
      password: string | null;
      discovery_prefix: string;
      base_topic: string;
      base_url: string | null;
      image_interval_s: number;
    };
    printers: unknown[];
  }>(gatewaySchema, raw, env, '');
  const ha = base.homeassistant;
  registerSecret(ha.password);
  const homeassistant: HomeAssistantConfig = {
    url: ha.url,
    username: ha.username,
    password: ha.password,
    discoveryPrefix: ha.discovery_prefix,
    baseTopic: ha.base_topic,
    baseUrl: ha.base_url?.replace(/\/+$/, '') ?? null,
    imageIntervalS: ha.image_interval_s,
  };
  for (const u of base.rtsp.users) registerSecret(u.password);
  for (const u of base.http.users) {
    registerSecret(u.password);
    registerSecret(u.token ?? null);
  }
  const problems: string[] = [];
  const entries: PortEntry[] = [];
  const taken = new Set<string>();
  base.printers.forEach((entry, i) => {
    try {
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
        throw new ConfigError(`printers[${i}]: must be a mapping with at least host and access_code`);
      }
      const printer = toPrinter(validated(printerSchema, entry, {}, `printers[${i}].`), i, taken);
      taken.add(printer.id);
      const native = (entry as { native?: { chamber?: unknown; mqtt?: unknown } }).native;
      entries.push({
        printer,
        index: i,
        given: { chamber: native?.chamber !== undefined, mqtt: native?.mqtt !== undefined },
      });
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems.push(err.message);
    }
  });
  const withChamber = assignNativePorts(entries, 'chamber', base.http.host, problems);
  const printers = assignNativePorts(withChamber, 'mqtt', base.http.host, problems).map((e) => e.printer);
  return {
    config: {
      http: {
        port: base.http.port,
        host: base.http.host,
        users: base.http.users,
        corsOrigins: base.http.cors_origins,
      },
      rtsp: base.rtsp,
      dataDir: resolve(base.data_dir),
      log: base.log,
      idleStopS: base.idle_stop_s,
      limits: {
        pendingPerAddress: base.limits.pending_per_address,
        pendingTotal: base.limits.pending_total,
        failuresBeforeDelay: base.limits.failures_before_delay,
        failureWindowMs: base.limits.failure_window_s * 1000,
        delaysMs: base.limits.delays_s.map((s) => s * 1000),
        refuseMs: base.limits.refuse_s * 1000,
      },
      homeassistant,
      webrtc: { ...base.webrtc, candidates: [...base.webrtc.candidates] },
      printers,
    },
    problems,
  };
}

export const NATIVE_CHAMBER_PORT = 6000;
export const NATIVE_MQTT_PORT = 8883;
const FIRST_PORT = { chamber: NATIVE_CHAMBER_PORT, mqtt: NATIVE_MQTT_PORT };
const KEY_WORDS = { chamber: 'native chamber', mqtt: 'native MQTT' };
const WILDCARD = new Set(['0.0.0.0', '::', '::0']);

/** Two listen addresses collide when the ports match and either host covers the other. */
function sameAddress(a: { host: string; port: number }, b: { host: string; port: number }): boolean {
  return a.port === b.port && (a.host === b.host || WILDCARD.has(a.host) || WILDCARD.has(b.host));
}

interface PortEntry {
  printer: PrinterConfig;
  index: number;
  /** Whether the entry names `native.<key>` itself (else the port is assigned). */
  given: { chamber: boolean; mqtt: boolean };
}

/**
 * Native servers with a port per printer (chamber :6000, MQTT :8883): a printer whose entry names no
 * port gets the first free one from the printer's own port (so one printer gets 6000 and 8883); two
 * printers set to the same address:port are refused, the later one reported and skipped. Port 0
 * (any free port, for tests) never collides.
 */
function assignNativePorts(
  entries: PortEntry[],
  key: 'chamber' | 'mqtt',
  httpHost: string,
  problems: string[],
): PortEntry[] {
  const used: { host: string; port: number; id: string; index: number }[] = [];
  const kept: PortEntry[] = [];
  for (const entry of entries) {
    const { printer, index, given } = entry;
    const out = printer.native[key];
    if (given[key] && out && out.port !== 0) {
      const addr = { host: out.host ?? httpHost, port: out.port };
      const clash = used.find((u) => sameAddress(u, addr));
      if (clash) {
        problems.push(
          `printers[${index}].native.${key}: ${addr.host}:${addr.port} is already the ${KEY_WORDS[key]} address of printer "${clash.id}" (printers[${clash.index}]); give each printer its own port or host`,
        );
        continue;
      }
      used.push({ ...addr, id: printer.id, index });
    }
    kept.push(entry);
  }
  for (const { printer, given } of kept) {
    const out = printer.native[key];
    if (given[key] || !out) continue;
    const host = out.host ?? httpHost;
    let port = FIRST_PORT[key];
    while (used.some((u) => sameAddress(u, { host, port }))) port++;
    out.port = port;
    used.push({ host, port, id: printer.id, index: -1 });
  }
  return kept;
}

export function loadConfigFile(file: string, env: Env = process.env): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `${file}: cannot read the configuration file (${(err as NodeJS.ErrnoException).code ?? err})`,
    );
  }
  const loaded = buildConfig(parseYaml(text, file), env);
  loaded.problems = loaded.problems.map((p) => `${file}: ${p}`);
  return loaded;
}

export interface QuickPrinter {
  ip: string;
  accessCode: string;
  serial?: string | null;
}

/** Single-printer mode without a file (flags or PRINTER_IP / ACCESS_CODE / SERIAL). */
export function quickConfig(q: QuickPrinter, env: Env = process.env): LoadedConfig {
  const printer: Record<string, unknown> = { id: 'printer', host: q.ip, access_code: q.accessCode };
  if (q.serial) printer.serial = q.serial;
  const loaded = buildConfig({ printers: [printer] }, env);
  if (loaded.problems.length) {
    const flags: Record<string, string> = {
      host: '--printer-ip',
      access_code: '--access-code',
      serial: '--serial',
    };
    const named = loaded.problems.map((p) =>
      p.replace(/^printers\[0\]\.(\w+)/, (_m, key: string) => flags[key] ?? key),
    );
    throw new ConfigError(named.join('\n'));
  }
  return loaded;
}
