/**
 * Child process for the soak: simulated printers (chamber ones and one X1-type over RTSPS).
 * argv: ffmpeg path. Sends { entries } (config entries) when ready; handles { cmd: 'drop', id } by
 * dropping every connection of that printer, as a printer losing its network does (no answer), and
 * answers { cmd: 'stats' }.
 */
import {
  type SimulatedPrinterSpec,
  type SimulatedRtspsSpec,
  startFleet,
  startRtspsFleet,
} from '../../src/simulator/fleet';

const CHAMBER: SimulatedPrinterSpec[] = [
  {
    id: 'soak-p1s',
    name: 'Soak P1S',
    serial: '01P00A000000101',
    accessCode: 'soakcode1',
    model: 'P1S',
    fps: 2,
  },
  { id: 'soak-a1', name: 'Soak A1', serial: '03900A000000102', accessCode: 'soakcode2', model: 'A1', fps: 1 },
  // Configured with a wrong code in the gateway: it must back off and never hammer the printer.
  {
    id: 'soak-wrong',
    name: 'Soak wrong code',
    serial: '01S00A000000103',
    accessCode: 'soakcode3',
    model: 'P1P',
    fps: 1,
  },
];
const RTSPS: SimulatedRtspsSpec[] = [
  {
    id: 'soak-x1c',
    name: 'Soak X1C',
    serial: '00M00A000000104',
    accessCode: 'soakcode4',
    model: 'X1C',
    width: 640,
    height: 360,
    fps: 15,
  },
];

async function main() {
  const ffmpeg = process.argv[2] ?? 'ffmpeg';
  const fleet = await startFleet(CHAMBER);
  const rtsps = await startRtspsFleet(RTSPS, ffmpeg);
  const entries = [
    ...fleet.map((p) => ({
      ...p.configEntry(),
      ...(p.spec.id === 'soak-wrong' ? { access_code: 'not-the-code' } : {}),
      native: { chamber: { port: 0, host: '127.0.0.1' } },
      mqtt: false,
    })),
    ...rtsps.map((p) => ({
      ...p.configEntry(),
      native: { chamber: false, rtsps: { port: 0, host: '127.0.0.1' } },
    })),
  ];
  process.send?.({ entries });
  process.on('message', (m: { cmd: string; id?: string }) => {
    if (m.cmd === 'drop') {
      const c = fleet.find((p) => p.spec.id === m.id);
      if (c) c.camera.dropAll();
      const r = rtsps.find((p) => p.spec.id === m.id);
      void r?.camera.dropConnections();
    } else if (m.cmd === 'stats') {
      process.send?.({
        chamber: Object.fromEntries(fleet.map((p) => [p.spec.id, p.camera.stats])),
        rtsps: Object.fromEntries(rtsps.map((p) => [p.spec.id, p.camera.stats])),
      });
    }
  });
  process.on('SIGTERM', () => process.exit(0));
}

void main();
