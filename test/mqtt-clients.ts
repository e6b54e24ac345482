/**
 * MQTT clients for tests of the native MQTT server that are not bambucam's code: Debian's
 * mosquitto_sub / mosquitto_pub, Python paho-mqtt (test/foreign/mqtt_client.py, run with Debian's
 * /usr/bin/python3) and MQTT.js. Each records what it received, in order.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { waitFor } from './helpers';

export interface Received {
  topic: string;
  payload: string;
  retain: boolean;
}

/** Something that records messages: the test waits on `messages`. */
export interface Recorder {
  readonly name: string;
  readonly messages: Received[];
}

export interface Target {
  port: number;
  serial: string;
  code: string;
  /** bambucam's CA (data_dir/tls/ca.crt). */
  cafile: string;
}

export const reportTopic = (t: Target) => `device/${t.serial}/report`;
export const requestTopic = (t: Target) => `device/${t.serial}/request`;

/** The JSON of every message (non-JSON payloads are skipped). */
export function parsed(r: Recorder): Record<string, Record<string, unknown>>[] {
  const out = [];
  for (const m of r.messages) {
    try {
      out.push(JSON.parse(m.payload));
    } catch {}
  }
  return out;
}

/** Wait until the recorder got a message for which `match` is true; returns it. */
export function waitForMessage(
  r: Recorder,
  match: (m: Record<string, Record<string, unknown>>, raw: Received) => boolean,
  timeoutMs = 15_000,
  what = 'a message',
): Promise<Record<string, Record<string, unknown>>> {
  return waitFor(
    () => {
      for (const raw of r.messages) {
        try {
          const m = JSON.parse(raw.payload);
          if (match(m, raw)) return m;
        } catch {}
      }
      return null;
    },
    timeoutMs,
    `${r.name}: ${what}`,
  );
}

/** mosquitto_sub -v: one line `topic payload` per message (printer payloads are one-line JSON). */
export class MosquittoSub implements Recorder {
  readonly messages: Received[] = [];
  readonly proc: ChildProcess;
  stderr = '';
  exitCode: number | null = null;
  readonly exited: Promise<number | null>;

  constructor(
    readonly name: string,
    t: Target,
    opts: { code?: string; topic?: string; clientId?: string; verifyHost?: boolean; extra?: string[] } = {},
  ) {
    const args = [
      '-h',
      '127.0.0.1',
      '-p',
      String(t.port),
      '-V',
      'mqttv311',
      '--cafile',
      t.cafile,
      // --insecure: no host name check (the certificate names the serial); without it mosquitto checks 127.0.0.1.
      ...(opts.verifyHost ? [] : ['--insecure']),
      '-u',
      'bblp',
      '-P',
      opts.code ?? t.code,
      '-t',
      opts.topic ?? reportTopic(t),
      '-v',
      '-q',
      '0',
      ...(opts.clientId ? ['-i', opts.clientId] : []),
      ...(opts.extra ?? []),
    ];
    this.proc = spawn('mosquitto_sub', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stderr?.on('data', (c: Buffer) => {
      this.stderr += c.toString();
    });
    createInterface({ input: this.proc.stdout! }).on('line', (line) => {
      const space = line.indexOf(' ');
      if (space > 0)
        this.messages.push({ topic: line.slice(0, space), payload: line.slice(space + 1), retain: false });
    });
    this.exited = new Promise((resolve) => {
      this.proc.once('exit', (code) => {
        this.exitCode = code;
        resolve(code);
      });
      this.proc.once('error', (err) => {
        this.stderr += String(err);
        resolve(-1);
      });
    });
  }

  get running(): boolean {
    return this.exitCode === null && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  pause(): void {
    this.proc.kill('SIGSTOP');
  }

  resume(): void {
    this.proc.kill('SIGCONT');
  }

  async close(): Promise<void> {
    if (!this.running) return;
    this.proc.kill('SIGCONT');
    this.proc.kill('SIGKILL');
    await this.exited;
  }
}

/** mosquitto_pub: publish one message; resolves with its exit code and output. */
export function mosquittoPub(
  t: Target,
  message: string,
  opts: { code?: string; topic?: string; qos?: number; retain?: boolean } = {},
): Promise<{ code: number; output: string }> {
  const args = [
    '-h',
    '127.0.0.1',
    '-p',
    String(t.port),
    '-V',
    'mqttv311',
    '--cafile',
    t.cafile,
    '--insecure',
    '-u',
    'bblp',
    '-P',
    opts.code ?? t.code,
    '-t',
    opts.topic ?? requestTopic(t),
    '-m',
    message,
    '-q',
    String(opts.qos ?? 0),
    ...(opts.retain ? ['-r'] : []),
  ];
  return new Promise((resolve, reject) => {
    execFile('mosquitto_pub', args, { timeout: 20_000 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(err); // missing binary: fail loudly
      resolve({ code: err ? Number(err.code) : 0, output: stdout + stderr });
    });
  });
}

const PAHO = join(__dirname, 'foreign', 'mqtt_client.py');

/** Python paho-mqtt connecting like ha-bambulab; lines written with `publish` go to the request topic. */
export class PahoClient implements Recorder {
  readonly messages: Received[] = [];
  readonly events: Record<string, unknown>[] = [];
  readonly proc: ChildProcess;
  stderr = '';
  readonly exited: Promise<number | null>;

  constructor(
    readonly name: string,
    t: Target,
    opts: { code?: string; verify?: boolean; hello?: boolean; clientId?: string } = {},
  ) {
    const args = [PAHO, '127.0.0.1', String(t.port), t.serial, opts.code ?? t.code];
    if (opts.verify) args.push('--cafile', t.cafile);
    if (opts.hello === false) args.push('--no-hello');
    if (opts.clientId) args.push('--client-id', opts.clientId);
    // Debian's python3 with its python3-paho-mqtt, not whatever python3 is first on PATH.
    this.proc = spawn('/usr/bin/python3', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stderr?.on('data', (c: Buffer) => {
      this.stderr += c.toString();
    });
    createInterface({ input: this.proc.stdout! }).on('line', (line) => {
      const e = JSON.parse(line) as Record<string, unknown>;
      if (e.event === 'message')
        this.messages.push({ topic: String(e.topic), payload: String(e.payload), retain: e.retain === true });
      else this.events.push(e);
    });
    this.exited = new Promise((resolve) => {
      this.proc.once('exit', (code) => resolve(code));
      this.proc.once('error', (err) => {
        this.stderr += String(err);
        resolve(-1);
      });
    });
  }

  connack(timeoutMs = 15_000): Promise<number> {
    return waitFor(
      () => {
        if (this.proc.exitCode !== null && !this.events.length)
          throw new Error(`${this.name} exited: ${this.stderr}`);
        const e = this.events.find((x) => x.event === 'connected');
        return e ? { rc: Number(e.rc) } : null;
      },
      timeoutMs,
      `${this.name} CONNACK`,
    ).then((e) => e.rc);
  }

  get disconnected(): boolean {
    return this.events.some((e) => e.event === 'disconnected');
  }

  publish(message: string): void {
    this.proc.stdin?.write(`${message}\n`);
  }

  async close(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.stdin?.end();
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
  }
}

/** MQTT.js over TLS without verification (or with bambucam's CA), MQTT 3.1.1 by default. */
export class MqttJsClient implements Recorder {
  readonly messages: Received[] = [];
  readonly client: MqttClient;
  closes = 0;
  lastError: (Error & { code?: number }) | null = null;

  constructor(
    readonly name: string,
    t: Target,
    opts: IClientOptions & { code?: string; verify?: boolean } = {},
  ) {
    const { code, verify, ...rest } = opts;
    this.client = connect(`mqtts://127.0.0.1:${t.port}`, {
      username: 'bblp',
      password: code ?? t.code,
      protocolVersion: 4,
      clean: true,
      reconnectPeriod: 0,
      connectTimeout: 10_000,
      rejectUnauthorized: !!verify,
      ...(verify ? { ca: readFileSync(t.cafile), servername: t.serial } : {}),
      ...rest,
    });
    this.client.on('message', (topic, payload, packet) => {
      this.messages.push({ topic, payload: payload.toString(), retain: packet.retain });
    });
    this.client.on('close', () => {
      this.closes++;
    });
    this.client.on('error', (err) => {
      this.lastError = err as Error & { code?: number };
    });
  }

  connected(timeoutMs = 15_000): Promise<void> {
    return waitFor(
      () => {
        if (this.lastError) throw this.lastError;
        return this.client.connected;
      },
      timeoutMs,
      `${this.name} connected`,
    ).then(() => undefined);
  }

  close(): Promise<void> {
    return this.client.endAsync(true);
  }
}

/** An MQTT 3.1.1 CONNECT packet, written by hand (clean session, user and password). */
export function connectPacket(clientId: string, user: string, password: string, keepaliveS: number): Buffer {
  const str = (s: string) => {
    const b = Buffer.from(s);
    const len = Buffer.alloc(2);
    len.writeUInt16BE(b.length);
    return Buffer.concat([len, b]);
  };
  const keepalive = Buffer.alloc(2);
  keepalive.writeUInt16BE(keepaliveS);
  const body = Buffer.concat([
    str('MQTT'),
    Buffer.from([4, 0xc2]), // level 4, flags: user name, password, clean session
    keepalive,
    str(clientId),
    str(user),
    str(password),
  ]);
  if (body.length > 127) throw new Error('test CONNECT too long for a one-byte length');
  return Buffer.concat([Buffer.from([0x10, body.length]), body]);
}
