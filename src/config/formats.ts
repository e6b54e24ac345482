/** convict formats with messages that say the rule in plain words. */
import { isIP } from 'node:net';
import { modelByName } from '../protocol/models';
import { isCandidateText } from '../webrtc/announce';

function fail(message: string): never {
  throw new Error(message);
}

const HOSTNAME =
  /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

export function isHost(value: unknown): boolean {
  return typeof value === 'string' && (isIP(value) !== 0 || HOSTNAME.test(value));
}

export const formats = {
  host(value: unknown): void {
    if (!isHost(value)) fail('must be a host name or IP address');
  },
  printerId(value: unknown): void {
    if (value === null) return;
    if (typeof value !== 'string' || !/^[a-z0-9][a-z0-9_-]{0,62}$/i.test(value)) {
      fail('must be 1-63 letters, digits, "-" or "_", starting with a letter or digit (it is used in URLs)');
    }
  },
  accessCode(value: unknown): void {
    if (typeof value !== 'string' || value.length === 0)
      fail('is required: the LAN access code from the printer screen');
    if (value.length > 32 || !/^[\x21-\x7e]+$/.test(value))
      fail('must be up to 32 printable characters without spaces');
  },
  optionalCode(value: unknown): void {
    if (value === null) return;
    formats.accessCode(value);
  },
  model(value: unknown): void {
    if (value === 'auto') return;
    if (typeof value !== 'string' || !modelByName(value)) {
      fail('must be "auto" or a BambuLab model such as P1S, P1P, A1, A1 mini, X1C, X1E, P2S, H2D');
    }
  },
  fingerprint(value: unknown): void {
    if (value === null) return;
    if (typeof value !== 'string' || value.replace(/:/g, '').length !== 64 || !/^[0-9a-f:]+$/i.test(value)) {
      fail('must be a SHA-256 fingerprint: 64 hex digits, colons allowed');
    }
  },
  nullableString(value: unknown): void {
    if (value !== null && (typeof value !== 'string' || value.length === 0))
      fail('must be a non-empty string or null');
  },
  nonEmptyString(value: unknown): void {
    if (typeof value !== 'string' || value.length === 0) fail('must be a non-empty string');
  },
  nativeOutput(value: unknown): void {
    if (value === false) return;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      fail('must be false (disabled) or { port: <0-65535>, host: <address, optional> }');
    }
    const v = value as Record<string, unknown>;
    for (const key of Object.keys(v))
      if (key !== 'port' && key !== 'host') fail(`unknown key "${key}" (allowed: port, host)`);
    // 0 picks a free port (tests, or when only the status API needs to know it).
    if (!Number.isInteger(v.port) || (v.port as number) < 0 || (v.port as number) > 65535) {
      fail('port must be an integer from 0 to 65535');
    }
    if (v.host !== undefined && !isHost(v.host)) fail('host must be a host name or IP address');
  },
  mqttUrl(value: unknown): void {
    if (value === null) return;
    if (typeof value !== 'string' || !/^mqtts?:\/\/[^/\s]+\/?$/.test(value))
      fail('must be an MQTT broker URL such as mqtt://192.168.1.10:1883 or mqtts://broker:8883');
  },
  nullableHttpUrl(value: unknown): void {
    if (value === null) return;
    if (typeof value !== 'string' || !/^https?:\/\/[^/\s]+(\/\S*)?$/.test(value))
      fail('must be an http:// or https:// URL such as http://192.168.1.20:8090');
  },
  topic(value: unknown): void {
    if (typeof value !== 'string' || value.length === 0 || /[#+\s]/.test(value) || /^\/|\/$/.test(value))
      fail('must be an MQTT topic without wildcards, spaces or a leading/trailing "/"');
  },
  httpUsers(value: unknown): void {
    if (!Array.isArray(value)) fail('must be a list of { username, password, token? }');
    value.forEach((u, i) => {
      if (typeof u !== 'object' || u === null || Array.isArray(u))
        fail(`[${i}] must be { username, password, token? }`);
      const v = u as Record<string, unknown>;
      const { token, ...rest } = v;
      formats.rtspUsers([rest]);
      if (token !== undefined && (typeof token !== 'string' || !/^[\x21-\x7e]{16,128}$/.test(token)))
        fail(`[${i}].token must be 16-128 printable characters without spaces (e.g. openssl rand -hex 16)`);
    });
  },
  corsOrigins(value: unknown): void {
    if (value === null) return;
    if (!Array.isArray(value))
      fail('must be null or a list of origins such as http://homeassistant.local:8123');
    for (const o of value)
      if (typeof o !== 'string' || !(o === '*' || /^https?:\/\/[^/\s]+$/.test(o)))
        fail(`"${String(o)}" is not an origin (scheme://host[:port], no path) or "*"`);
  },
  rtspUsers(value: unknown): void {
    if (!Array.isArray(value)) fail('must be a list of { username, password }');
    value.forEach((u, i) => {
      const v = u as Record<string, unknown>;
      if (typeof u !== 'object' || u === null || Array.isArray(u))
        fail(`[${i}] must be { username, password }`);
      for (const key of Object.keys(v))
        if (key !== 'username' && key !== 'password')
          fail(`[${i}]: unknown key "${key}" (allowed: username, password)`);
      if (
        typeof v.username !== 'string' ||
        !/^[\x21-\x7e]{1,64}$/.test(v.username) ||
        v.username.includes(':')
      )
        fail(`[${i}].username must be 1-64 printable characters without spaces or ":"`);
      if (typeof v.password !== 'string' || v.password.length === 0 || v.password.length > 128)
        fail(`[${i}].password must be 1-128 characters`);
    });
  },
  positiveNumber(value: unknown): void {
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > 60)
      fail('must be a number above 0 and at most 60');
  },
  idleSeconds(value: unknown): void {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 1 || value > 3600)
      fail('must be a number of seconds from 1 to 3600');
  },
  candidates(value: unknown): void {
    if (!Array.isArray(value)) fail('must be a list of IP addresses, each optionally with :port');
    value.forEach((c, i) => {
      if (!isCandidateText(c))
        fail(
          `[${i}] must be an IP address, optionally with :port (192.168.1.20, 192.168.1.20:18555, [fd00::2]:18555)`,
        );
    });
  },
  positiveInteger(value: unknown): void {
    if (!Number.isInteger(value) || (value as number) < 1) fail('must be a whole number of at least 1');
  },
  delayList(value: unknown): void {
    if (
      !Array.isArray(value) ||
      value.length > 10 ||
      !value.every((v) => typeof v === 'number' && Number.isFinite(v) && v > 0 && v <= 3600)
    )
      fail('must be a list of at most 10 delays in seconds, each above 0 and at most 3600');
  },
  array(value: unknown): void {
    if (!Array.isArray(value)) fail('must be a list');
  },
};
