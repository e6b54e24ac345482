/**
 * A set of simulated printers on loopback, for `bambucam simulate`, the demo, tests and benchmarks.
 */
import { SimulatedChamberCamera } from './chamber-camera';

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
