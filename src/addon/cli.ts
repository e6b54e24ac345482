#!/usr/bin/env node
/**
 * `bambucam-addon-config`: run by the Home Assistant add-on before the gateway. Prints the path of
 * the configuration to run with, or nothing when the add-on has no printer (then the demo runs):
 *
 * - /config/bambucam.yaml (the add-on's own config folder), when the user wrote one: every key;
 * - else the add-on's options (/data/options.json) translated into /data/bambucam.yaml, checked
 *   with bambucam's own config loader, readable by nobody else (it holds access codes).
 *
 * Messages go to stderr, secrets redacted; exit 2 when the options cannot make a configuration.
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import YAML from 'yaml';
import { buildConfig, ConfigError } from '../config/load';
import { redact } from '../log';
import {
  type AddonOptions,
  AddonOptionsError,
  addonConfig,
  type MqttService,
  wantsSupervisorMqtt,
} from './options';

const say = (line: string) => process.stderr.write(`[addon] ${redact(line)}\n`);

/** The Supervisor's MQTT service (the add-on declares `services: [mqtt:want]`), or null. */
export async function supervisorMqtt(env: NodeJS.ProcessEnv): Promise<MqttService | null> {
  const token = env.SUPERVISOR_TOKEN;
  if (!token) return null;
  const base = env.BAMBUCAM_SUPERVISOR_URL ?? 'http://supervisor';
  try {
    const res = await fetch(`${base}/services/mqtt`, {
      headers: { Authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(10_000),
    });
    if (!res.ok) {
      say(
        `no MQTT broker from the Supervisor (HTTP ${res.status}): install the Mosquitto broker add-on, or set mqtt_url`,
      );
      return null;
    }
    const body = (await res.json()) as { data?: Partial<MqttService> };
    const d = body.data;
    if (!d?.host || !d.port) return null;
    return {
      host: d.host,
      port: Number(d.port),
      ssl: d.ssl === true,
      username: d.username,
      password: d.password,
    };
  } catch (err) {
    say(`cannot ask the Supervisor for the MQTT broker: ${(err as Error).message}`);
    return null;
  }
}

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<string | null> {
  const { values } = parseArgs({
    args: argv,
    options: {
      options: { type: 'string', default: '/data/options.json' },
      out: { type: 'string', default: '/data/bambucam.yaml' },
      'user-config': { type: 'string', default: '/config/bambucam.yaml' },
    },
  });
  const userConfig = values['user-config'] as string;
  if (existsSync(userConfig)) {
    say(`using ${userConfig}; the add-on's printer options are not used while that file exists`);
    return userConfig;
  }
  let options: AddonOptions;
  try {
    options = JSON.parse(readFileSync(values.options as string, 'utf8')) as AddonOptions;
  } catch (err) {
    throw new AddonOptionsError(
      `cannot read the add-on's options (${values.options}): ${(err as Error).message}`,
    );
  }
  const service = wantsSupervisorMqtt(options) ? await supervisorMqtt(env) : null;
  const config = addonConfig(options, service);
  if (!config) {
    say(
      'no printer in the add-on\'s options: running the demo (simulated printers); add your printers under "printers"',
    );
    return null;
  }
  // bambucam's own loader: a mistake is reported exactly as for bambucam.yaml.
  const loaded = buildConfig(config, {});
  for (const problem of loaded.problems) say(`option ${problem} — this printer is skipped`);
  if (loaded.config.printers.length === 0) throw new AddonOptionsError('no usable printer in the options');
  if (service && config.homeassistant)
    say(`MQTT discovery through the Supervisor's broker ${service.host}:${service.port}`);
  writeFileSync(values.out as string, YAML.stringify(config), { mode: 0o600 });
  chmodSync(values.out as string, 0o600);
  return values.out as string;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (path) => {
      if (path) process.stdout.write(`${path}\n`);
    },
    (err: Error) => {
      say(
        err instanceof ConfigError || err instanceof AddonOptionsError
          ? `options: ${err.message}`
          : err.message,
      );
      process.exit(2);
    },
  );
}
