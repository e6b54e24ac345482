import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { type SimulatedPrinter, startFleet, stopFleet } from '../../src/simulator/fleet';
import { startCli } from '../cli-process';
import { spec } from '../helpers';

/** Run `bambucam doctor --config` against one printer entry; returns its lines and exit code. */
async function doctor(
  entry: Record<string, unknown>,
): Promise<{ lines: string[]; code: number | null; text: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'bambucam-doctor-'));
  try {
    const file = join(dir, 'bambucam.yaml');
    writeFileSync(file, YAML.stringify({ printers: [entry] }));
    const run = startCli(['doctor', '--config', file]);
    const code = await run.exited;
    const text = run.output();
    return { lines: text.split('\n'), code, text };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const line = (lines: string[], start: string) => lines.find((l) => l.startsWith(start)) ?? '';

describe('bambucam doctor', () => {
  let fleet: SimulatedPrinter[] = [];
  let standIn: Server | undefined;
  afterEach(async () => {
    await stopFleet(fleet);
    fleet = [];
    await new Promise<void>((r) => (standIn ? standIn.close(() => r()) : r()));
    standIn = undefined;
  });

  test('a healthy P1S: every check ✓ and exit code 0', async () => {
    fleet = await startFleet([spec({ model: 'P1S', mqtt: true, fps: 2 })]);
    const p = fleet[0];
    const { lines, code, text } = await doctor(p.autoEntry());
    expect(text).not.toContain('✗');
    expect(line(lines, `✓ port ${p.chamberPort} (chamber camera) reachable`)).not.toBe('');
    expect(line(lines, `✓ port ${p.mqtt!.port} (MQTT) reachable`)).not.toBe('');
    expect(lines).toContain('✓ access code accepted (MQTT login)');
    expect(line(lines, '✓ model: P1S (the printer says "Bambu Lab P1S", firmware 01.08.00.00)')).not.toBe('');
    expect(line(lines, '– camera: chamber')).toContain('Bambu Lab P1S');
    expect(line(lines, '✓ camera sends pictures (JPEG')).not.toBe('');
    expect(line(lines, '✓ ffmpeg ')).not.toBe('');
    expect(line(lines, '✓ ffmpeg can encode H.264')).not.toBe('');
    expect(lines).toContain('All checks passed.');
    expect(code).toBe(0);
    expect(text).not.toContain(p.spec.accessCode);
  });

  test('a wrong access code: ✗ from MQTT and from the camera, with the fix, and exit code 1', async () => {
    fleet = await startFleet([spec({ model: 'P1S', mqtt: true, fps: 2 })]);
    const p = fleet[0];
    const { lines, code, text } = await doctor({ ...p.autoEntry(), access_code: 'wrongcode' });
    const mqttLine = lines.findIndex((l) => l.startsWith('✗ access code: wrong'));
    expect(mqttLine).toBeGreaterThanOrEqual(0);
    expect(lines[mqttLine + 1]).toMatch(/^ {4}fix: copy the access code again/);
    expect(line(lines, '✗ camera: wrong access code')).not.toBe('');
    expect(line(lines, '– camera: chamber (serial number prefix of a P1S)')).not.toBe('');
    expect(lines).toContain('Something needs fixing (see ✗ above).');
    expect(code).toBe(1);
    expect(text).not.toContain('wrongcode');
  });

  test('an X1C with LAN liveview off: ✗ liveview with the fix, exit code 1', async () => {
    fleet = await startFleet([spec({ model: 'X1C', serial: '00M00A000000099', mqtt: { liveview: false } })]);
    standIn = createServer((s) => s.destroy());
    await new Promise<void>((r) => standIn!.listen(0, '127.0.0.1', () => r()));
    const rtsps = (standIn.address() as { port: number }).port;
    const p = fleet[0];
    const entry = p.autoEntry();
    const { lines, code } = await doctor({ ...entry, ports: { ...(entry.ports as object), rtsps } });
    expect(line(lines, '✓ model: X1C (the printer says "Bambu Lab X1 Carbon"')).not.toBe('');
    expect(line(lines, '– camera: rtsps')).not.toBe('');
    expect(line(lines, `✓ port ${rtsps} (RTSPS camera) reachable`)).not.toBe('');
    expect(line(lines, `– port ${p.chamberPort} open — a file tunnel on this model`)).not.toBe('');
    const i = lines.findIndex((l) => l.startsWith('✗ LAN liveview is off'));
    expect(i).toBeGreaterThanOrEqual(0);
    expect(lines[i + 1]).toContain('LAN Only Liveview');
    expect(line(lines, '✗ camera: no pictures while LAN liveview is off')).not.toBe('');
    expect(line(lines, '✓ ffmpeg can decode H.264')).not.toBe('');
    expect(code).toBe(1);
  });

  test('without a serial: the access code is still checked over MQTT, and the port probe finds the camera', async () => {
    fleet = await startFleet([spec({ model: 'P1S', mqtt: true, fps: 2 })]);
    const { lines, code } = await doctor({ ...fleet[0].autoEntry(), serial: null });
    expect(lines).toContain('✓ access code accepted (MQTT login)');
    expect(line(lines, '– serial number not given')).not.toBe('');
    expect(line(lines, '– camera: chamber (port')).toContain('sent a JPEG picture');
    expect(line(lines, '✓ camera sends pictures')).not.toBe('');
    expect(code).toBe(0);
  });

  test('an unreachable printer: ✗ ports with the fix, exit code 1', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const { lines, code } = await doctor({
      host: '127.0.0.1',
      access_code: '12345678',
      serial: '01P00A000000555',
      ports: { chamber: port, mqtt: port, rtsps: port },
    });
    expect(line(lines, `✗ port ${port} (chamber camera) not reachable`)).not.toBe('');
    expect(line(lines, `✗ port ${port} (MQTT) not reachable`)).not.toBe('');
    expect(line(lines, '✗ camera: no pictures')).not.toBe('');
    expect(code).toBe(1);
  });
});
