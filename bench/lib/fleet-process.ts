/**
 * Child process: N simulated P1S chamber cameras for the wall benchmark, outside the gateway so its
 * CPU is not counted with bambucam's. argv: count fps quality. Sends { ports } when ready.
 * Pictures are drawn rarely (drawing costs far more than serving); every frame still differs by its tag.
 */
import { SimulatedChamberCamera } from '../../src/simulator/chamber-camera';
import { generateCertificate } from '../../src/tls/certs';

async function main() {
  const count = Number(process.argv[2] ?? 10);
  const fps = Number(process.argv[3] ?? 1);
  const quality = Number(process.argv[4] ?? 95);
  // One identity for all: generating 100 RSA keys would take longer than the benchmark's setup.
  const identity = generateCertificate({ commonName: '01P00A000000000', issuerName: 'BBL CA' });
  const cameras: SimulatedChamberCamera[] = [];
  for (let i = 0; i < count; i++) {
    const cam = new SimulatedChamberCamera({
      name: `Farm P1S ${i + 1}`,
      serial: `01P00A${String(i + 1).padStart(9, '0')}`,
      accessCode: 'benchcode',
      fps,
      quality,
      renderFps: 0.05,
      identity,
    });
    await cam.start();
    cameras.push(cam);
  }
  process.send?.({ ports: cameras.map((c) => c.port) });
  process.on('message', (m: { cmd: string }) => {
    if (m.cmd === 'stats') process.send?.(cameras.map((c) => c.stats));
  });
  process.on('SIGTERM', () => void Promise.all(cameras.map((c) => c.stop())).then(() => process.exit(0)));
}

void main();
