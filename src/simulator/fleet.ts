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
}

export interface SimulatedPrinterSpec {
  id: string;
  name: string;
  serial: string;
  accessCode: string;
  model: string;
  fps?: number;
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
          id: spec.id,
          name: spec.name,
          host,
          access_code: spec.accessCode,
          serial: spec.serial,
          model: spec.model,
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
