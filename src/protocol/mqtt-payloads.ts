/**
 * The printer's MQTT payloads (PROTOCOLS.md §5): requests we send and the parts of reports we read.
 * Pure: no I/O. Topics are `device/<serial>/report` (printer → us) and `device/<serial>/request`.
 */

export const MQTT_USER = 'bblp';

export const reportTopic = (serial: string): string => `device/${serial}/report`;
export const requestTopic = (serial: string): string => `device/${serial}/request`;

/** Ask for the full state (P1 printers otherwise send only changed fields). */
export function pushallRequest(sequenceId = '0'): Record<string, unknown> {
  return { pushing: { sequence_id: sequenceId, command: 'pushall', version: 1, push_target: 1 } };
}

export function getVersionRequest(sequenceId = '0'): Record<string, unknown> {
  return { info: { sequence_id: sequenceId, command: 'get_version' } };
}

export type LightMode = 'on' | 'off';

/** Chamber light on/off; the printer ignores the command unless every timing field is present. */
export function ledctrlRequest(mode: LightMode, sequenceId = '0'): Record<string, unknown> {
  return {
    system: {
      sequence_id: sequenceId,
      command: 'ledctrl',
      led_node: 'chamber_light',
      led_mode: mode,
      led_on_time: 500,
      led_off_time: 500,
      loop_times: 0,
      interval_time: 0,
    },
  };
}

/** The IP in `print.net.info[].ip` is a little-endian u32: 1677830336 → 192.168.1.100. */
export function ipFromLittleEndianU32(n: number): string | null {
  if (!Number.isInteger(n) || n <= 0 || n > 0xffffffff) return null;
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff].join('.');
}

export function ipToLittleEndianU32(ip: string): number {
  const [a, b, c, d] = ip.split('.').map(Number);
  return ((d << 24) >>> 0) + (c << 16) + (b << 8) + a;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parse one report message; null when it is not a JSON object (malformed bytes end nothing). */
export function parseMessage(payload: Buffer | string): Json | null {
  try {
    const value = JSON.parse(payload.toString());
    return isObject(value) ? value : null;
  } catch {
    return null;
  }
}

/**
 * Merge a report's `print` object into the state we keep. P1 printers send only the fields that
 * changed, so nested objects are merged key by key; arrays are replaced.
 */
export function mergeState(state: Json, delta: Json): Json {
  const out: Json = { ...state };
  for (const [key, value] of Object.entries(delta)) {
    const own = Object.hasOwn(out, key) ? out[key] : undefined;
    const merged = isObject(value) && isObject(own) ? mergeState(own, value) : value;
    // Defined, not assigned: a "__proto__" key in a report is data, not the object's prototype.
    Object.defineProperty(out, key, { value: merged, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

export interface IpcamInfo {
  /** `ipcam_dev` is "1" when the printer has a camera. */
  present: boolean | null;
  /** `rtsp_url`: a URL when LAN liveview is on, "disable" when off, null when absent (chamber models). */
  rtspUrl: string | null;
  liveview: 'on' | 'off' | null;
  resolution: string | null;
  record: string | null;
  timelapse: string | null;
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

export function readIpcam(print: Json): IpcamInfo | null {
  const ipcam = print.ipcam;
  if (!isObject(ipcam)) return null;
  const url = str(ipcam.rtsp_url);
  return {
    present: ipcam.ipcam_dev === undefined ? null : String(ipcam.ipcam_dev) === '1',
    rtspUrl: url,
    liveview: url === null ? null : url === 'disable' || url === '' ? 'off' : 'on',
    resolution: str(ipcam.resolution),
    record: str(ipcam.ipcam_record),
    timelapse: str(ipcam.timelapse),
  };
}

/** The printer's own idea of its address (the first non-zero entry of `net.info`). */
export function readIp(print: Json): string | null {
  const net = print.net;
  if (!isObject(net) || !Array.isArray(net.info)) return null;
  for (const entry of net.info) {
    if (isObject(entry) && typeof entry.ip === 'number') {
      const ip = ipFromLittleEndianU32(entry.ip);
      if (ip) return ip;
    }
  }
  return null;
}

/** The chamber light's mode from `lights_report`, when the report has it. */
export function readChamberLight(print: Json): string | null {
  if (!Array.isArray(print.lights_report)) return null;
  for (const entry of print.lights_report) {
    if (isObject(entry) && entry.node === 'chamber_light') return str(entry.mode);
  }
  return null;
}

export interface VersionInfo {
  /** `product_name` of the `ota` module, e.g. "Bambu Lab P1S". */
  productName: string | null;
  /** Firmware version (`sw_ver` of the `ota` module). */
  firmware: string | null;
  /** `project_name` (model code such as C12) when the printer sends it. */
  modelCode: string | null;
}

/** Read a `get_version` answer (`info.module[]`); null for other messages. */
export function readVersion(message: Json): VersionInfo | null {
  const info = message.info;
  if (!isObject(info) || info.command !== 'get_version' || !Array.isArray(info.module)) return null;
  const modules = info.module.filter(isObject);
  const ota = modules.find((m) => m.name === 'ota');
  const withProduct = ota && str(ota.product_name) ? ota : modules.find((m) => str(m.product_name));
  return {
    productName: str(withProduct?.product_name) ?? null,
    firmware: str(ota?.sw_ver),
    modelCode: str(withProduct?.project_name) ?? null,
  };
}

export interface CommandResult {
  command: string;
  ok: boolean;
  reason: string | null;
}

/** The printer's echo of a `system` command (ledctrl): `result` "success", or a failure with a reason. */
export function readSystemResult(message: Json): CommandResult | null {
  const system = message.system;
  if (!isObject(system) || typeof system.command !== 'string' || system.result === undefined) return null;
  const ok = String(system.result).toLowerCase() === 'success';
  const reason = str(system.reason) ?? (system.err_code !== undefined ? `error ${system.err_code}` : null);
  return { command: system.command, ok, reason };
}
