/**
 * bambucam's native server driven by a client that is not bambucam's code: a Python script written
 * from PROTOCOLS.md alone, reading TLS record by record through memory BIOs (test/foreign/).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { readComment } from '../../src/protocol/jpeg';
import { parseSimTag } from '../../src/simulator/chamber-camera';
import { type Gateway, spec, startGateway } from '../helpers';

jest.setTimeout(60_000);

const SCRIPT = join(__dirname, '..', 'foreign', 'chamber_client.py');

interface PyResult {
  frames?: { sha256: string; length: number; records: number[] }[];
  refused?: boolean;
  bytes?: number;
  version?: string;
  cipher?: string;
  violation?: string;
}

function python(args: string[]): Promise<{ code: number; result: PyResult; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      'python3',
      [SCRIPT, ...args, '--timeout', '15'],
      { timeout: 40_000, killSignal: 'SIGKILL' },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') return reject(err); // python3 missing: fail loudly
        try {
          resolve({ code: err ? Number(err.code) : 0, result: JSON.parse(stdout.trim()), stderr });
        } catch {
          reject(new Error(`python client said: ${stdout}${stderr}`));
        }
      },
    );
  });
}

describe('native chamber server against a foreign client (Python ssl, from PROTOCOLS.md)', () => {
  let gw: Gateway | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  test("TLS 1.3 and TLS 1.2 clients read the printer's frames, record by record, byte for byte", async () => {
    gw = await startGateway([spec({ fps: 10 })], { entry: () => ({ viewer_code: 'household' }) });
    const g = gw;
    const sent = new Map<string, number>();
    const sim = g.fleet[0].camera as unknown as { send: (s: unknown, j: Buffer) => Promise<void> };
    const orig = sim.send.bind(sim);
    sim.send = (s, jpeg) => {
      const tag = parseSimTag(readComment(jpeg));
      if (tag) sent.set(createHash('sha256').update(jpeg).digest('hex'), tag.seq);
      return orig(s, jpeg);
    };
    const port = String(g.app.nativeChamber.servers.get(g.fleet[0].spec.id)!.port);
    const runs = await Promise.all([
      python(['127.0.0.1', port, g.fleet[0].spec.accessCode, '--frames', '5']),
      python(['127.0.0.1', port, 'household', '--frames', '5', '--tls12']),
    ]);
    expect(runs[0].result.version).toBe('TLSv1.3');
    expect(runs[1].result.version).toBe('TLSv1.2');
    for (const { code, result } of runs) {
      expect(result.violation).toBeUndefined();
      expect(code).toBe(0);
      expect(result.frames).toHaveLength(5);
      let matched = 0;
      for (const f of result.frames!) {
        expect(f.records[0]).toBe(16);
        expect(Math.max(...f.records.slice(1))).toBeLessThanOrEqual(4096);
        expect(f.records.slice(1).reduce((a, b) => a + b, 0)).toBe(f.length);
        if (sent.has(f.sha256)) matched++;
      }
      // The first frame may have been sent before the hook; the others are the printer's bytes.
      expect(matched).toBeGreaterThanOrEqual(4);
    }
  });

  test('the foreign client sees a wrong code or user refused: closed without a byte', async () => {
    gw = await startGateway([spec({ fps: 10 })]);
    const g = gw;
    const port = String(g.app.nativeChamber.servers.get(g.fleet[0].spec.id)!.port);
    const runs = await Promise.all([
      python(['127.0.0.1', port, 'not-the-code']),
      python(['127.0.0.1', port, g.fleet[0].spec.accessCode, '--user', 'admin', '--tls12']),
    ]);
    for (const { code, result } of runs) {
      expect(code).toBe(0);
      expect(result).toMatchObject({ frames: [], refused: true, bytes: 0 });
    }
  });
});
