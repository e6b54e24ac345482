import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { httpJson, waitFor } from '../helpers';

const CLI = join(__dirname, '..', '..', 'dist', 'cli.js');

interface Run {
  child: ChildProcess;
  out: () => string;
  exit: Promise<number | null>;
}

function run(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Run {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: opts.cwd ?? mkdtempSync(join(tmpdir(), 'bambucam-cli-')),
    env: { PATH: process.env.PATH ?? '', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout?.on('data', (c) => {
    text += c;
  });
  child.stderr?.on('data', (c) => {
    text += c;
  });
  return { child, out: () => text, exit: new Promise((r) => child.once('exit', (code) => r(code))) };
}

function tmpFile(name: string, text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'bambucam-cfg-')), name);
  writeFileSync(file, text);
  return file;
}

describe('bambucam command line', () => {
  test('--help explains the commands', async () => {
    const r = run(['--help']);
    expect(await r.exit).toBe(0);
    expect(r.out()).toMatch(/bambucam demo/);
    expect(r.out()).toMatch(/--printer-ip/);
  });

  test('a bad configuration names the key and exits with code 2', async () => {
    const file = tmpFile('bad.yaml', 'http:\n  port: eighty\nprinters: []\n');
    const r = run(['run', '--config', file]);
    expect(await r.exit).toBe(2);
    expect(r.out()).toMatch(/http\.port: ports must be within range/);
  });

  test('a YAML syntax error gives the line', async () => {
    const file = tmpFile('broken.yaml', 'printers:\n  - host: 10.0.0.1\n    access_code: "x\n');
    const r = run(['run', '--config', file]);
    expect(await r.exit).toBe(2);
    expect(r.out()).toMatch(/broken\.yaml:\d+:\d+: YAML syntax error/);
  });

  test('with no configuration it runs the demo: live simulated printers behind the gateway', async () => {
    const r = run([], { env: { BAMBUCAM_HTTP_PORT: '0' } });
    try {
      const url = await waitFor(() => /web page:\s+(http:\/\/\S+)/.exec(r.out())?.[1], 20_000, 'demo URLs');
      expect(r.out()).toMatch(/no configuration found/);
      const api = await waitFor(
        async () => {
          const a = await httpJson<{ printers: { source: { state: string } }[] }>(`${url}api/printers`);
          return a.printers.length === 2 && a.printers.every((p) => p.source.state === 'streaming')
            ? a
            : null;
        },
        20_000,
        'demo printers streaming',
      );
      expect(api.printers).toHaveLength(2);
      expect(r.out()).not.toMatch(/12345678|87654321/);
    } finally {
      r.child.kill('SIGTERM');
    }
    expect(await r.exit).toBe(0);
  });
});
