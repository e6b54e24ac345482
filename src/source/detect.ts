/**
 * Which camera transport a printer uses (PROTOCOLS.md §1), decided in this order:
 * `camera:` in the config → `model:` in the config → the model the printer names over MQTT
 * (`get_version` → `product_name`) → the serial number prefix → MQTT `ipcam.rtsp_url` → probing the
 * ports. X1/H2/X2D listen on :6000 too (a file tunnel), so a :6000 probe counts only when the payload
 * after the frame header starts with the JPEG marker FF D8.
 */
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { PrinterConfig } from '../config/load';
import { encodeAuthPacket, FRAME_HEADER_BYTES } from '../protocol/chamber';
import { type CameraKind, modelByName, modelBySerial } from '../protocol/models';
import type { MqttLink } from './mqtt-link';
import { printerTlsOptions } from './tls-options';

export interface CameraDecision {
  kind: CameraKind;
  reason: string;
}

/** Decide from the configuration alone (camera, model, serial); null when only detection can tell. */
export function decideCamera(printer: PrinterConfig): CameraDecision | null {
  return decideFromConfig(printer) ?? decideFromSerial(printer);
}

export function decideFromConfig(printer: PrinterConfig): CameraDecision | null {
  if (printer.camera !== 'auto')
    return { kind: printer.camera, reason: `camera: ${printer.camera} in the configuration` };
  const model = printer.model !== 'auto' ? modelByName(printer.model) : undefined;
  if (model) return { kind: model.camera, reason: `model ${model.name} in the configuration` };
  return null;
}

function decideFromSerial(printer: PrinterConfig): CameraDecision | null {
  const bySerial = printer.serial ? modelBySerial(printer.serial) : undefined;
  return bySerial ? { kind: bySerial.camera, reason: `serial number prefix of a ${bySerial.name}` } : null;
}

export interface DetectOptions {
  printer: PrinterConfig;
  mqtt: MqttLink | null;
  signal?: AbortSignal;
  /** How long to wait for the printer's `get_version` answer. */
  mqttWaitMs?: number;
  probeTimeoutMs?: number;
  /** The last resort (tests pass a fake); default: probing the printer's ports. */
  probe?: (printer: PrinterConfig, timeoutMs: number) => Promise<CameraDecision>;
}

export const MQTT_WAIT_MS = 15_000;
export const PROBE_TIMEOUT_MS = 5_000;

/** Resolves when the link knows the model, or cannot learn it (wrong code, unreachable), or after `ms`. */
function waitForMqttModel(link: MqttLink, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const deadline = Date.now() + ms;
    const check = () => {
      // Stop early when MQTT cannot answer: wrong code, or the first attempt failed (unreachable).
      const failed = link.status.state === 'auth_failed' || link.status.state === 'offline';
      const over = link.model || failed || signal?.aborted || Date.now() >= deadline;
      if (!over) return;
      clearInterval(timer);
      link.off('version', check);
      resolve();
    };
    // auth_failed is set by the supervisor after the run settles, so poll besides listening.
    const timer = setInterval(check, 100);
    link.on('version', check);
    check();
  });
}

export async function detectCamera(opts: DetectOptions): Promise<CameraDecision> {
  const { printer, mqtt } = opts;
  const fromConfig = decideFromConfig(printer);
  if (fromConfig) return fromConfig;
  if (mqtt) {
    await waitForMqttModel(mqtt, opts.mqttWaitMs ?? MQTT_WAIT_MS, opts.signal);
    const model = mqtt.model;
    if (model)
      return {
        kind: model.camera,
        reason: `the printer says it is a "${mqtt.version?.productName ?? model.name}" (MQTT get_version)`,
      };
  }
  const fromSerial = decideFromSerial(printer);
  if (fromSerial) return fromSerial;
  const url = mqtt?.ipcam?.rtspUrl;
  if (url)
    return { kind: 'rtsps', reason: `the printer reports an RTSP liveview setting (rtsp_url) over MQTT` };
  return (opts.probe ?? probeCamera)(printer, opts.probeTimeoutMs ?? PROBE_TIMEOUT_MS);
}

/** Last resort: look at the ports. */
export async function probeCamera(
  printer: PrinterConfig,
  timeoutMs = PROBE_TIMEOUT_MS,
): Promise<CameraDecision> {
  const chamber = await probeChamberJpeg(printer, timeoutMs);
  if (chamber === 'jpeg')
    return { kind: 'chamber', reason: `port ${printer.ports.chamber} sent a JPEG picture (port probe)` };
  if (await probeTcp(printer.host, printer.ports.rtsps, timeoutMs))
    return {
      kind: 'rtsps',
      reason: `port ${printer.ports.rtsps} (RTSPS) is open and port ${printer.ports.chamber} sent no JPEG (port probe)`,
    };
  return {
    kind: 'chamber',
    reason:
      'no model, serial or MQTT answer, and the port probe was inconclusive: assuming an A1/P1 chamber camera',
  };
}

/**
 * Connect to the chamber port, authenticate, and look at the first bytes after the 16-byte header.
 * Settles only after the socket closed (one camera connection at a time).
 */
export function probeChamberJpeg(
  printer: PrinterConfig,
  timeoutMs: number,
): Promise<'jpeg' | 'other' | 'closed' | 'unreachable'> {
  return new Promise((resolve) => {
    let result: 'jpeg' | 'other' | 'closed' | 'unreachable' = 'unreachable';
    let received = Buffer.alloc(0);
    const socket = tlsConnect({
      host: printer.host,
      port: printer.ports.chamber,
      ...printerTlsOptions(printer.tls, printer.serial),
    });
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    socket.once('secureConnect', () => {
      result = 'closed';
      socket.write(encodeAuthPacket(printer.accessCode));
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= FRAME_HEADER_BYTES + 2) {
        const b = received.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + 2);
        result = b[0] === 0xff && b[1] === 0xd8 ? 'jpeg' : 'other';
        socket.destroy();
      } else if (result === 'closed') result = 'other';
    });
    socket.on('error', () => {});
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(result);
    });
  });
}

export function probeTcp(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    let ok = false;
    const socket = netConnect({ host, port });
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    socket.once('connect', () => {
      ok = true;
      socket.end();
      socket.destroy();
    });
    socket.on('error', () => {});
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(ok);
    });
  });
}
