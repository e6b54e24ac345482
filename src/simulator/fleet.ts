/**
 * A set of simulated printers on loopback, for `bambucam simulate`, the demo, tests and benchmarks.
 */
import { SimulatedChamberCamera } from './chamber-camera';
import { SimulatedRtspsCamera } from './rtsps-camera';

export interface SimulatedPrinterSpec {
  id: string;
  name: string;
  serial: string;
  accessCode: string;
  model: string;
  fps?: number;
  chamberPort?: number;
}

export const DEMO_PRINTERS: SimulatedPrinterSpec[] = [
  {
    id: 'garage-p1s',
    name: 'Garage P1S',
    serial: '01P00A000000001',
    accessCode: '12345678',
    model: 'P1S',
    fps: 2,
  },
  {
    id: 'studio-a1',
    name: 'Studio A1',
    serial: '03900A000000002',
    accessCode: '87654321',
    model: 'A1',
    fps: 1,
  },
];

export interface SimulatedPrinter {
  spec: SimulatedPrinterSpec;
  camera: SimulatedChamberCamera;
  /** A printers[] entry that points bambucam at this simulated printer. */
  configEntry(): Record<string, unknown>;
}

export async function startFleet(
  specs: SimulatedPrinterSpec[],
  host = '127.0.0.1',
): Promise<SimulatedPrinter[]> {
  const started: SimulatedPrinter[] = [];
  try {
    for (const spec of specs) {
      const camera = new SimulatedChamberCamera({
        name: spec.name,
        serial: spec.serial,
        accessCode: spec.accessCode,
        fps: spec.fps,
        host,
        port: spec.chamberPort ?? 0,
      });
      await camera.start();
      started.push({
        spec,
        camera,
        configEntry: () => ({
          id: spec.id,
          name: spec.name,
          host,
          access_code: spec.accessCode,
          serial: spec.serial,
          model: spec.model,
          camera: 'chamber',
          ports: { chamber: camera.port },
        }),
      });
    }
  } catch (err) {
    await stopFleet(started);
    throw err;
  }
  return started;
}

export async function stopFleet(fleet: SimulatedPrinter[]): Promise<void> {
  await Promise.all(fleet.map((p) => p.camera.stop()));
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
          id: spec.id,
          name: spec.name,
          host,
          access_code: spec.accessCode,
          serial: spec.serial,
          model: spec.model,
          camera: 'rtsps',
          ports: { rtsps: camera.port },
          native: { rtsps: { port: 0, host } },
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
