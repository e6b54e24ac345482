/**
 * Home Assistant add-on: the add-on's options (/data/options.json, edited in Home Assistant's UI)
 * translated into a bambucam configuration (the same keys as bambucam.yaml). Pure: reading the
 * files, asking the Supervisor for the MQTT broker and writing the result are in addon/cli.ts.
 */

export interface AddonPrinterOptions {
  name: string;
  host: string;
  access_code: string;
  serial?: string;
  model?: string;
  camera?: 'auto' | 'chamber' | 'rtsps';
  viewer_code?: string;
  light?: 'off' | 'auto';
}

/** The add-on's options, as homeassistant-addon/bambucam/config.yaml declares them. */
export interface AddonOptions {
  printers?: AddonPrinterOptions[];
  log_level?: 'debug' | 'info' | 'warn' | 'error';
  mqtt_discovery?: boolean;
  mqtt_url?: string;
  mqtt_username?: string;
  mqtt_password?: string;
  base_url?: string;
  rtsp_username?: string;
  rtsp_password?: string;
}

/** The broker the Supervisor offers to add-ons that want `mqtt` (usually the Mosquitto add-on). */
export interface MqttService {
  host: string;
  port: number;
  ssl: boolean;
  username?: string;
  password?: string;
}

/** Fixed by the add-on: ingress reaches the web page on 8090; /data is the add-on's own volume. */
export const ADDON_HTTP_PORT = 8090;
export const ADDON_RTSP_PORT = 8554;
export const ADDON_DATA_DIR = '/data';

export class AddonOptionsError extends Error {
  override name = 'AddonOptionsError';
}

const given = (v: string | undefined): v is string => typeof v === 'string' && v.trim() !== '';

function printerEntry(p: AddonPrinterOptions, i: number): Record<string, unknown> {
  if (!given(p.host))
    throw new AddonOptionsError(`printers[${i}].host: the printer's IP address is required`);
  if (!given(p.access_code))
    throw new AddonOptionsError(`printers[${i}].access_code: the printer's LAN access code is required`);
  const entry: Record<string, unknown> = { host: p.host.trim(), access_code: p.access_code.trim() };
  if (given(p.name)) entry.name = p.name.trim();
  if (given(p.serial)) entry.serial = p.serial.trim();
  if (given(p.model)) entry.model = p.model;
  if (given(p.camera)) entry.camera = p.camera;
  if (given(p.viewer_code)) entry.viewer_code = p.viewer_code.trim();
  if (given(p.light)) entry.light = p.light;
  return entry;
}

function homeassistant(o: AddonOptions, service: MqttService | null): Record<string, unknown> {
  if (!o.mqtt_discovery) return { url: null };
  const base_url = given(o.base_url) ? o.base_url : null;
  if (given(o.mqtt_url)) {
    return {
      url: o.mqtt_url,
      username: given(o.mqtt_username) ? o.mqtt_username : null,
      password: given(o.mqtt_password) ? o.mqtt_password : null,
      base_url,
    };
  }
  if (!service) return { url: null };
  return {
    url: `${service.ssl ? 'mqtts' : 'mqtt'}://${service.host}:${service.port}`,
    username: service.username ?? null,
    password: service.password ?? null,
    base_url,
  };
}

/**
 * The bambucam configuration (snake_case, as in bambucam.yaml) for these options; null when no
 * printer is configured (the add-on then runs the demo). `service` is the Supervisor's MQTT
 * broker, used for discovery when no mqtt_url is given.
 */
export function addonConfig(
  options: AddonOptions,
  service: MqttService | null = null,
): Record<string, unknown> | null {
  const printers = (options.printers ?? []).map(printerEntry);
  if (printers.length === 0) return null;
  const users =
    given(options.rtsp_username) && given(options.rtsp_password)
      ? [{ username: options.rtsp_username, password: options.rtsp_password }]
      : [];
  if (given(options.rtsp_username) !== given(options.rtsp_password))
    throw new AddonOptionsError('rtsp_username and rtsp_password: give both, or neither');
  return {
    http: { port: ADDON_HTTP_PORT, host: '0.0.0.0' },
    rtsp: { port: ADDON_RTSP_PORT, host: '0.0.0.0', users },
    data_dir: ADDON_DATA_DIR,
    log: { level: options.log_level ?? 'info' },
    homeassistant: homeassistant(options, service),
    printers,
  };
}

/** Whether discovery wants the Supervisor's broker (enabled, and no broker of the user's own). */
export function wantsSupervisorMqtt(options: AddonOptions): boolean {
  return options.mqtt_discovery === true && !given(options.mqtt_url);
}
