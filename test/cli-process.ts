/** Run the real command line (dist/cli.js, built by test/global-setup.js) in a child process. */
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { waitFor } from './helpers';

const ROOT = resolve(__dirname, '..');

export interface CliRun {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

export function startCli(args: string[], env: NodeJS.ProcessEnv = {}): CliRun {
  const child = spawn(process.execPath, [resolve(ROOT, 'dist/cli.js'), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  return { child, output: () => out, exited };
}

/** The demo on loopback with ports the system picks: its simulated printers and every output bind 127.0.0.1. */
export const LOOPBACK_DEMO_ENV: NodeJS.ProcessEnv = {
  BAMBUCAM_HTTP_HOST: '127.0.0.1',
  BAMBUCAM_HTTP_PORT: '0',
  BAMBUCAM_RTSP_HOST: '127.0.0.1',
  BAMBUCAM_RTSP_PORT: '0',
};

/** The HTTP port of the demo's "web page:" line in `output`, once it printed it. */
export function demoWebPort(output: () => string, timeoutMs = 30_000): Promise<string> {
  return waitFor(
    () => /web page:\s+http:\/\/(?:localhost|127\.0\.0\.1):(\d+)\//.exec(output())?.[1],
    timeoutMs,
    'the demo to print its URL',
  );
}
