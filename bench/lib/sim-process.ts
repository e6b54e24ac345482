/** Child process: one simulated P1S camera for benchmarks. argv: fps. Answers {cmd:'stats'}. */
import { SimulatedChamberCamera } from '../../src/simulator/chamber-camera';

async function main() {
  const fps = Number(process.argv[2] ?? 30);
  const sim = new SimulatedChamberCamera({
    name: 'Bench P1S',
    serial: '01P00A000000042',
    accessCode: 'benchcode',
    fps,
    renderFps: 2,
  });
  await sim.start();
  process.send?.({ port: sim.port });
  process.on('message', (m: { cmd: string }) => {
    if (m.cmd === 'stats') process.send?.(sim.stats);
  });
  process.on('SIGTERM', () => void sim.stop().then(() => process.exit(0)));
}

void main();
