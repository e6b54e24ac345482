/**
 * A real mosquitto broker for tests: Debian's binary, a generated config, a free loopback port,
 * killed after the test. A missing binary fails loudly (.ci/run installs mosquitto).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { waitFor } from './helpers';

export function mosquittoPath(): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin'];
  for (const dir of dirs) if (dir && existsSync(join(dir, 'mosquitto'))) return join(dir, 'mosquitto');
  throw new Error('mosquitto not found: install it (Debian/Ubuntu: apt-get install mosquitto; .ci/run does)');
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface Mosquitto {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** Start mosquitto on `port` (default: a free one). */
export async function startMosquitto(port?: number): Promise<Mosquitto> {
  const bin = mosquittoPath();
  const dir = mkdtempSync(join(tmpdir(), 'bambucam-mosquitto-'));
  port ??= await freePort();
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(
    conf,
    `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\n`,
  );
  const child: ChildProcess = spawn(bin, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const url = `mqtt://127.0.0.1:${port}`;
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`mosquitto exited: ${stderr}`);
        try {
          const c = await connectAsync(url, { reconnectPeriod: 0, connectTimeout: 1000 });
          await c.endAsync();
          return true;
        } catch {
          return false;
        }
      },
      15_000,
      'mosquitto to accept connections',
    );
  } catch (err) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    url,
    port,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Received {
  topic: string;
  payload: string;
  retain: boolean;
}

/** A client that records every message on `pattern` (default everything). */
export async function observe(
  url: string,
  pattern = '#',
): Promise<{ client: MqttClient; messages: Received[] }> {
  const client = await connectAsync(url, {
    reconnectPeriod: 0,
    clientId: `observer_${Math.random().toString(16).slice(2)}`,
  });
  const messages: Received[] = [];
  client.on('message', (topic, payload, packet) => {
    messages.push({ topic, payload: payload.toString(), retain: packet.retain });
  });
  await client.subscribeAsync(pattern, { qos: 1 });
  return { client, messages };
}

/** The retained messages on `pattern` right now (read by a fresh subscriber, ended by a marker). */
export async function retained(url: string, pattern: string): Promise<Map<string, string>> {
  const client = await connectAsync(url, { reconnectPeriod: 0 });
  const marker = `test-marker/${Math.random().toString(16).slice(2)}`;
  const out = new Map<string, string>();
  const done = new Promise<void>((resolve) => {
    client.on('message', (topic, payload, packet) => {
      if (topic === marker) return resolve();
      if (packet.retain) out.set(topic, payload.toString());
    });
  });
  await client.subscribeAsync([pattern, marker], { qos: 0 });
  await client.publishAsync(marker, 'x', { qos: 0 });
  await done;
  await client.endAsync();
  return out;
}
