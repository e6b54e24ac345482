/**
 * MQTT fan-out benchmark (issue 12): a simulated X1C sending its full state once a second, N = 1, 10,
 * 100 MQTT.js clients on bambucam's native MQTT server, then the same N on a mosquitto bridge (what
 * mosquitto-based proxies do: one bridge connection to the printer, re-published by mosquitto), each
 * in its own process. Prints latency p50/p99 (printer send → client receive), CPU % and RSS of the
 * serving process, and how fast bambucam answers a client's pushall from its own state under load.
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { generateCertificate } from '../src/tls/certs';
import { freePort, sleep } from './lib/fanout';
import { MqttBenchClient } from './lib/mqtt-bench-client';
import { BENCH_CODE, BENCH_SERIAL } from './lib/mqtt-sim-process';
import { cpuSeconds, percentile, rssMiB, startChild } from './lib/procs';

const WARMUP_MS = 3000;
const MEASURE_MS = Number(process.env.BENCH_MEASURE_MS ?? 20_000);
const COUNTS = (process.env.BENCH_VIEWERS ?? '1,10,100').split(',').map(Number);
const PUSHALLS = 50;
const REPORT = `device/${BENCH_SERIAL}/report`;
const REQUEST = `device/${BENCH_SERIAL}/request`;

function mosquittoPath(): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin'];
  for (const d of dirs) if (d && existsSync(join(d, 'mosquitto'))) return join(d, 'mosquitto');
  throw new Error('mosquitto not found (Debian: apt-get install mosquitto)');
}

interface Target {
  name: string;
  pid: number;
  port: number;
  auth: { username?: string; password?: string };
}

interface Row {
  target: string;
  clients: number;
  p50: number;
  p99: number;
  max: number;
  perClientPerS: number;
  cpuPct: number;
  rss: number;
  /** pushall answered from bambucam's state, measured on the loaded server. */
  pushallP50: number;
  pushallP99: number;
}

async function measure(t: Target, n: number, pushalls: boolean): Promise<Row> {
  const clients = Array.from({ length: n }, () => new MqttBenchClient(t.port, REPORT, t.auth));
  const deadline = Date.now() + 30_000;
  while (!clients.every((c) => c.connected)) {
    if (Date.now() > deadline)
      throw new Error(
        `${t.name}: clients did not connect (${clients.find((c) => c.lastError)?.lastError ?? 'no error'})`,
      );
    await sleep(50);
  }
  await sleep(WARMUP_MS);
  for (const c of clients) c.recording = true;
  const messages0 = clients.reduce((a, c) => a + c.messages, 0);
  const cpu0 = cpuSeconds(t.pid);
  const t0 = Date.now();
  await sleep(MEASURE_MS);
  const cpu1 = cpuSeconds(t.pid);
  const secs = (Date.now() - t0) / 1000;
  for (const c of clients) c.recording = false;
  const messages = clients.reduce((a, c) => a + c.messages, 0) - messages0;
  const rss = rssMiB(t.pid);
  // A client's pushall on the loaded server: one at a time, answered by bambucam without the printer.
  const answers: number[] = [];
  if (pushalls) {
    const asker = clients[0];
    for (let i = 0; i < PUSHALLS; i++) {
      asker.pushall(REQUEST, `bench-${i}`);
      const until = Date.now() + 5000;
      while (asker.answerMs.length <= i && Date.now() < until) await sleep(1);
      await sleep(20);
    }
    answers.push(...asker.answerMs);
  }
  for (const c of clients) c.close();
  await sleep(500);
  const lat = clients.flatMap((c) => c.latencies).sort((a, b) => a - b);
  answers.sort((a, b) => a - b);
  return {
    target: t.name,
    clients: n,
    p50: percentile(lat, 50),
    p99: percentile(lat, 99),
    max: lat[lat.length - 1] ?? Number.NaN,
    perClientPerS: messages / n / secs,
    cpuPct: (100 * (cpu1.total - cpu0.total)) / secs,
    rss,
    pushallP50: percentile(answers, 50),
    pushallP99: percentile(answers, 99),
  };
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'bambucam-bench-mqtt-'));
  // The printer's certificate from a CA of its own, so that mosquitto's bridge (which always checks the
  // chain) can connect; bambucam accepts the printer's certificate as it does a real printer's.
  const ca = generateCertificate({ commonName: 'bench BBL CA', isCa: true });
  const leaf = generateCertificate({ commonName: BENCH_SERIAL, issuer: ca });
  // Readable by mosquitto, which drops root privileges to its own user.
  chmodSync(dir, 0o755);
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text, { mode: 0o644 });
    return path;
  };
  const [caFile, keyFile, certFile] = [
    file('ca.crt', ca.cert),
    file('leaf.key', leaf.key),
    file('leaf.crt', leaf.cert),
  ];
  const sim = startChild<{ port: number }>(join(__dirname, 'lib', 'mqtt-sim-process.js'), [
    keyFile,
    certFile,
  ]);
  const { port: simPort } = await sim.ready;

  const [httpPort, rtspPort, mqttPort, deadPort, bridgePort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const config = file(
    'bench.yaml',
    [
      `http: { port: ${httpPort}, host: 127.0.0.1 }`,
      `rtsp: { port: ${rtspPort}, host: 127.0.0.1 }`,
      `data_dir: ${join(dir, 'data')}`,
      'log: { level: warn }',
      'printers:',
      '  - id: bench',
      '    host: 127.0.0.1',
      `    access_code: ${BENCH_CODE}`,
      `    serial: ${BENCH_SERIAL}`,
      '    model: X1C',
      // No camera here: its port is closed, so the camera source only retries now and then.
      `    ports: { mqtt: ${simPort}, rtsps: ${deadPort} }`,
      `    native: { chamber: false, rtsps: false, mqtt: { port: ${mqttPort}, host: 127.0.0.1 } }`,
      '',
    ].join('\n'),
  );
  const gateway = startChild<unknown>(
    join(__dirname, '..', 'src', 'cli.js'),
    ['run', '--config', config],
    {},
    process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [],
  );
  const bridgeConf = file(
    'mosquitto.conf',
    [
      `listener ${bridgePort} 127.0.0.1`,
      `certfile ${certFile}`,
      `keyfile ${keyFile}`,
      'allow_anonymous true',
      'persistence false',
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      'connection printer',
      `address 127.0.0.1:${simPort}`,
      `bridge_cafile ${caFile}`,
      'bridge_insecure true',
      'bridge_protocol_version mqttv311',
      'remote_username bblp',
      `remote_password ${BENCH_CODE}`,
      'remote_clientid bench_bridge',
      'try_private false',
      'cleansession true',
      // No $SYS notifications to the printer: it allows publishing only on its request topic.
      'notifications false',
      `topic ${REPORT} in 0`,
      '',
    ].join('\n'),
  );
  const bridge = spawn(mosquittoPath(), ['-c', bridgeConf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let bridgeLog = '';
  bridge.stderr?.on('data', (c: Buffer) => {
    bridgeLog = (bridgeLog + c.toString()).slice(-2000);
  });
  bridge.once('exit', (code) => code && console.error(`mosquitto exited with ${code}: ${bridgeLog}`));
  // The gateway up (CA and leaf made: seconds on a busy machine) and connected to the printer.
  const up = Date.now() + 60_000;
  for (;;) {
    const status = await fetch(`http://127.0.0.1:${httpPort}/api/printers/bench`)
      .then((r) => r.json() as Promise<{ mqtt: { state: string }; native: { mqtt?: { state: string } } }>)
      .catch(() => null);
    if (status?.mqtt.state === 'connected' && status.native.mqtt?.state === 'listening') break;
    if (Date.now() > up) throw new Error('the gateway did not come up within 60 s');
    await sleep(200);
  }
  await sleep(2000); // the bridge connected too
  const targets: Target[] = [
    {
      name: 'bambucam',
      pid: gateway.proc.pid!,
      port: mqttPort,
      auth: { username: 'bblp', password: BENCH_CODE },
    },
    { name: 'mosquitto bridge', pid: bridge.pid!, port: bridgePort, auth: {} },
  ];
  const rows: Row[] = [];
  try {
    for (const n of COUNTS) for (const t of targets) rows.push(await measure(t, n, t.name === 'bambucam'));
    const stats = await sim.request<{ connections: number; pushalls: number; lastReportBytes: number }>({
      cmd: 'stats',
    });
    const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '-');
    console.log(
      `\nMQTT fan-out, simulated X1C: a full report (${stats.lastReportBytes} bytes) every second, ${MEASURE_MS / 1000} s per row (node ${process.version})`,
    );
    console.log(
      '| target | clients | reports/s per client | p50 ms | p99 ms | max ms | CPU % | RSS MiB | pushall answer p50/p99 ms |',
    );
    console.log('|---|---|---|---|---|---|---|---|---|');
    for (const r of rows) {
      console.log(
        `| ${r.target} | ${r.clients} | ${f(r.perClientPerS, 2)} | ${f(r.p50)} | ${f(r.p99)} | ${f(r.max)} | ${f(r.cpuPct, 2)} | ${f(r.rss)} | ${r.target === 'bambucam' ? `${f(r.pushallP50)} / ${f(r.pushallP99)}` : '-'} |`,
      );
    }
    console.log(
      `\nupstream: the simulated printer saw ${stats.connections} MQTT connections (bambucam 1 + the bridge 1) and ${stats.pushalls} pushall requests, while bambucam answered ${PUSHALLS * COUNTS.length} pushalls from its own state`,
    );
  } finally {
    bridge.kill('SIGTERM');
    await Promise.all([gateway.stop(), sim.stop()]);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
