/**
 * A set of simulated printers on loopback, for `bambucam simulate`, the demo, tests and benchmarks.
 */
import { modelByName } from '../protocol/models';
import { generateCertificate } from '../tls/certs';
import { SimulatedChamberCamera } from './chamber-camera';
import { SimulatedFileTunnel } from './file-tunnel';
import { SimulatedMqttPrinter } from './mqtt-broker';

export interface SimulatedMqttSpec {
  /** X1-type: LAN Only Liveview on (default) or off. */
  liveview?: boolean;
  /** Off: the printer refuses control commands such as the chamber light. Default on. */
  developerMode?: boolean;
  reportIntervalMs?: number;
  reportedIp?: string;
  /** Full state in every report, as X1-type printers send it. */
  fullReports?: boolean;
  stampReports?: boolean;
}

import { SimulatedRtspsCamera } from './rtsps-camera';

export interface SimulatedPrinterSpec {
  id: string;
  name: string;
  serial: string;
  accessCode: string;
  model: string;
  fps?: number;
  /** Chamber cameras: picture size, JPEG quality and drawing rate (see SimulatedChamberOptions). */
  width?: number;
  height?: number;
  quality?: number;
  renderFps?: number;
  chamberPort?: number;
  /** Also simulate the printer's MQTT server (TLS). Default: none. */
  mqtt?: boolean | SimulatedMqttSpec;
}

export const DEMO_PRINTERS: SimulatedPrinterSpec[] = [
  {
    id: 'garage-p1s',
    name: 'Garage P1S',
    serial: '01P00A000000001',
    accessCode: '12345678',
    model: 'P1S',
    fps: 2,
    mqtt: true,
  },
  {
    id: 'studio-a1',
    name: 'Studio A1',
    serial: '03900A000000002',
    accessCode: '87654321',
    model: 'A1',
    fps: 1,
    mqtt: true,
  },
];

export interface SimulatedPrinter {
  spec: SimulatedPrinterSpec;
  /** The chamber camera (A1/P1 models); X1-type models have a file tunnel on that port instead. */
  camera: SimulatedChamberCamera;
  mqtt: SimulatedMqttPrinter | null;
  /** The port a client finds on :6000 (the camera, or the file tunnel of X1-type models). */
  chamberPort: number;
  /** A printers[] entry that points bambucam at this simulated printer. */
  configEntry(): Record<string, unknown>;
  /** What a user must write (host, access code, serial) plus the simulator's ports; camera and model auto. */
  autoEntry(): Record<string, unknown>;
}

/** The printers[] keys that say who a simulated printer is and how to reach it. */
function entryFor(
  spec: { id: string; name: string; accessCode: string; serial: string; model: string },
  host: string,
): Record<string, unknown> {
  return {
    id: spec.id,
    name: spec.name,
    host,
    access_code: spec.accessCode,
    serial: spec.serial,
    model: spec.model,
  };
}

export async function startFleet(
  specs: SimulatedPrinterSpec[],
  host = '127.0.0.1',
): Promise<SimulatedPrinter[]> {
  const started: SimulatedPrinter[] = [];
  try {
    for (const spec of specs) {
      const identity = generateCertificate({ commonName: spec.serial, issuerName: 'BBL CA' });
      const camera = new SimulatedChamberCamera({
        name: spec.name,
        serial: spec.serial,
        accessCode: spec.accessCode,
        fps: spec.fps,
        width: spec.width,
        height: spec.height,
        quality: spec.quality,
        renderFps: spec.renderFps,
        host,
        port: spec.chamberPort ?? 0,
        identity,
      });
      const rtspsModel = modelByName(spec.model)?.camera === 'rtsps';
      const tunnel = rtspsModel ? new SimulatedFileTunnel(identity, host) : null;
      const mqttSpec = spec.mqtt === true ? {} : spec.mqtt || null;
      const mqtt = mqttSpec
        ? new SimulatedMqttPrinter({
            serial: spec.serial,
            accessCode: spec.accessCode,
            model: spec.model,
            host,
            identity,
            ...mqttSpec,
          })
        : null;
      const printer: SimulatedPrinter = {
        spec,
        camera,
        mqtt,
        chamberPort: 0,
        configEntry: () => ({
          ...entryFor(spec, host),
          camera: 'chamber',
          mqtt: mqtt !== null,
          ports: mqtt ? { chamber: printer.chamberPort, mqtt: mqtt.port } : { chamber: printer.chamberPort },
        }),
        autoEntry: () => ({
          id: spec.id,
          // The defaults, spelled out so that merging over configEntry() resets them.
          model: 'auto',
          camera: 'auto',
          host,
          access_code: spec.accessCode,
          serial: spec.serial,
          mqtt: mqtt !== null,
          ports: mqtt ? { chamber: printer.chamberPort, mqtt: mqtt.port } : { chamber: printer.chamberPort },
        }),
      };
      started.push(printer);
      // X1-type printers have no chamber camera: their :6000 is a file tunnel.
      if (tunnel) {
        await tunnel.start(spec.chamberPort ?? 0);
        printer.chamberPort = tunnel.port;
        tunnels.set(printer, tunnel);
      } else {
        await camera.start();
        printer.chamberPort = camera.port;
      }
      await mqtt?.start();
    }
  } catch (err) {
    await stopFleet(started);
    throw err;
  }
  return started;
}

const tunnels = new WeakMap<SimulatedPrinter, SimulatedFileTunnel>();

export async function stopFleet(fleet: SimulatedPrinter[]): Promise<void> {
  await Promise.all(
    fleet.map(async (p) => {
      const tunnel = tunnels.get(p);
      await (tunnel ? tunnel.stop() : p.camera.stop());
      await p.mqtt?.stop();
    }),
  );
}

export interface SimulatedRtspsSpec {
  id: string;
  name: string;
  serial: string;
  accessCode: string;
  model: string;
  width?: number;
  height?: number;
  fps?: number;
  maxConnections?: number;
  sessionTimeoutS?: number;
  frozenTimestamps?: boolean;
  rtspsPort?: number;
}

export const DEMO_RTSPS_PRINTERS: SimulatedRtspsSpec[] = [
  {
    id: 'lab-x1c',
    name: 'Lab X1C',
    serial: '00M00A000000003',
    accessCode: '24681357',
    model: 'X1C',
    width: 1280,
    height: 720,
  },
];

export interface SimulatedRtspsPrinter {
  spec: SimulatedRtspsSpec;
  camera: SimulatedRtspsCamera;
  configEntry(): Record<string, unknown>;
}

/** X1-type printers (RTSPS :322 with LIVE555 behaviour); needs ffmpeg for the picture. */
export async function startRtspsFleet(
  specs: SimulatedRtspsSpec[],
  ffmpegPath: string,
  host = '127.0.0.1',
): Promise<SimulatedRtspsPrinter[]> {
  const started: SimulatedRtspsPrinter[] = [];
  try {
    for (const spec of specs) {
      const camera = new SimulatedRtspsCamera({
        name: spec.name,
        serial: spec.serial,
        accessCode: spec.accessCode,
        ffmpegPath,
        host,
        port: spec.rtspsPort ?? 0,
        width: spec.width,
        height: spec.height,
        fps: spec.fps,
        maxConnections: spec.maxConnections,
        sessionTimeoutS: spec.sessionTimeoutS,
        frozenTimestamps: spec.frozenTimestamps,
      });
      await camera.start();
      started.push({
        spec,
        camera,
        configEntry: () => ({
          ...entryFor(spec, host),
          camera: 'rtsps',
          ports: { rtsps: camera.port },
          native: { rtsps: { port: 0, host } },
          // This simulated X1 has no MQTT side; do not look for one on 127.0.0.1:8883.
          mqtt: false,
        }),
      });
    }
  } catch (err) {
    await stopRtspsFleet(started);
    throw err;
  }
  return started;
}

export async function stopRtspsFleet(fleet: SimulatedRtspsPrinter[]): Promise<void> {
  await Promise.all(fleet.map((p) => p.camera.stop()));
}
