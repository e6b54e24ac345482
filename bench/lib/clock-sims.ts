/**
 * Child process for the latency benchmark: a simulated P1S (chamber, JPEG) and a simulated X1C
 * (RTSPS, 720p30 H.264), both drawing the machine-readable wall clock into their pictures
 * (src/simulator/timecode.ts). In a process of their own, so the gateway's CPU is measured alone.
 * argv: chamber fps. Sends { chamberPort, rtspsPort } when ready.
 */
import { locateFfmpeg } from '../../src/ffmpeg/locate';
import { SimulatedChamberCamera } from '../../src/simulator/chamber-camera';
import { SimulatedRtspsCamera } from '../../src/simulator/rtsps-camera';

export const CLOCK_SIMS = {
  chamber: { serial: '01P00A000000977', accessCode: 'benchcode' },
  rtsps: { serial: '00M00A000000977', accessCode: 'benchcod' },
};

async function main() {
  const fps = Number(process.argv[2] ?? 5);
  const chamber = new SimulatedChamberCamera({
    name: 'Bench P1S',
    serial: CLOCK_SIMS.chamber.serial,
    accessCode: CLOCK_SIMS.chamber.accessCode,
    fps,
    renderFps: fps,
    timecode: true,
  });
  const rtsps = new SimulatedRtspsCamera({
    name: 'Bench X1C',
    serial: CLOCK_SIMS.rtsps.serial,
    accessCode: CLOCK_SIMS.rtsps.accessCode,
    ffmpegPath: locateFfmpeg()?.path ?? 'ffmpeg',
    width: 1280,
    height: 720,
    fps: 30,
    timecode: true,
  });
  await chamber.start();
  await rtsps.start();
  process.send?.({ chamberPort: chamber.port, rtspsPort: rtsps.port });
  process.on('SIGTERM', () => void Promise.all([chamber.stop(), rtsps.stop()]).then(() => process.exit(0)));
}

if (require.main === module) void main();
