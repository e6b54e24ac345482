#!/usr/bin/env node
/**
 * bambucam command line: run | demo | simulate | doctor | ca.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { App } from './app';
import { buildConfig, ConfigError, type LoadedConfig, loadConfigFile, quickConfig } from './config/load';
import { formatCheck, runDoctor } from './doctor';
import { locateFfmpeg } from './ffmpeg/locate';
import { redact, rootLogger, setLogLevel } from './log';
import type { SimulatedPrinter, SimulatedRtspsPrinter } from './simulator/fleet';
import { loadOrCreateCa } from './tls/ca';

const USAGE = `bambucam — one camera connection per BambuLab printer, served to everyone

Usage:
  bambucam [run] [--config FILE]     run the gateway (config also from BAMBUCAM_CONFIG or ./bambucam.yaml)
  bambucam run --printer-ip IP --access-code CODE [--serial SERIAL]
                                     one printer without a file (or env PRINTER_IP, ACCESS_CODE, SERIAL)
  bambucam demo [--port N]           simulated printers on loopback and the gateway in front of them
  bambucam simulate                  only the simulated printers, for trying other clients
  bambucam doctor [--config FILE] [--printer ID]
  bambucam doctor --printer-ip IP --access-code CODE [--serial SERIAL]
                                     check a printer and ffmpeg, and say what to fix (exit 1 if something is wrong)
  bambucam ca [--config FILE]        print the path and PEM of bambucam's CA (trust it in clients of
                                     the native servers; see docs/native-chamber.md)

With no configuration at all, bambucam runs the demo.
Options:
  --config FILE   YAML configuration (see config/bambucam.example.yaml)
  --port N        HTTP port (default 8090; also BAMBUCAM_HTTP_PORT)
  --printer ID    doctor: which configured printer (default: the first)
  -h, --help      this text
`;

const log = rootLogger.child('bambucam');

function onShutdown(stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    log.info(`${signal}: stopping`);
    stop().then(
      () => process.exit(0),
      (err) => {
        log.error(`stop failed: ${err.message}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => handler('SIGINT'));
  process.once('SIGTERM', () => handler('SIGTERM'));
}

async function runGateway(loaded: LoadedConfig, extraStop?: () => Promise<void>): Promise<App> {
  for (const problem of loaded.problems) log.error(`config: ${problem} — this printer is skipped`);
  if (loaded.config.printers.length === 0) {
    throw new ConfigError('no usable printer in the configuration; add one under printers: (see README)');
  }
  setLogLevel(loaded.config.log.level);
  const app = new App({ config: loaded.config });
  await app.start();
  onShutdown(async () => {
    await app.stop();
    await extraStop?.();
  });
  return app;
}

function parsePort(port: string | undefined): number | undefined {
  if (port === undefined) return undefined;
  const n = Number(port);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new ConfigError('--port: must be an integer from 0 to 65535');
  return n;
}

/** --port overrides the file and the environment. */
function applyPort(loaded: LoadedConfig, port: string | undefined): LoadedConfig {
  const n = parsePort(port);
  if (n !== undefined) loaded.config.http.port = n;
  return loaded;
}

/**
 * The simulator (and its broker, picture drawing, ...) is loaded only for demo and simulate, so the
 * gateway process of `run` carries none of it (a smaller heap collects faster).
 */
const loadSimulator = () => import('./simulator/fleet');

/** The simulated X1 needs ffmpeg for its picture; without one the demo has chamber printers only. */
async function startDemoRtsps(): Promise<SimulatedRtspsPrinter[]> {
  const ffmpeg = locateFfmpeg();
  if (!ffmpeg) {
    log.warn('no ffmpeg found: the demo runs without its simulated X1 printer (and without RTSP)');
    return [];
  }
  const { startRtspsFleet, DEMO_RTSPS_PRINTERS } = await loadSimulator();
  return startRtspsFleet(DEMO_RTSPS_PRINTERS, ffmpeg.path);
}

async function demo(port: string | undefined): Promise<void> {
  const { startFleet, stopFleet, stopRtspsFleet, DEMO_PRINTERS } = await loadSimulator();
  const fleet: SimulatedPrinter[] = await startFleet(DEMO_PRINTERS);
  const rtsps = await startDemoRtsps().catch(async (err) => {
    await stopFleet(fleet);
    throw err;
  });
  const stopAll = async () => {
    await stopFleet(fleet);
    await stopRtspsFleet(rtsps);
  };
  let app: App;
  try {
    const entries = [
      ...fleet.map((p) => p.configEntry()),
      // The demo's native RTSPS on a free port: 322 needs privileges.
      ...rtsps.map((p) => ({ ...p.configEntry(), native: { rtsps: { port: 0 } } })),
    ];
    // WebRTC on loopback and a free port, like the rest of the demo (docs/webrtc.md for real use).
    const loaded = applyPort(
      buildConfig({ webrtc: { host: '127.0.0.1', port: 0, candidates: ['127.0.0.1'] }, printers: entries }),
      port,
    );
    app = await runGateway(loaded, stopAll);
  } catch (err) {
    await stopAll();
    throw err;
  }
  const lines = [
    '',
    'bambucam demo: simulated printers on loopback, the gateway in front of them.',
    // Each output describes itself; no code or password is ever in these lines.
    ...app.describe().map((line) => `  ${line}`),
    "  The demo printers' access codes are in README.",
    'Press Ctrl+C to stop. To use real printers, see README (bambucam run --config bambucam.yaml).',
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function simulate(): Promise<void> {
  const { startFleet, stopFleet, stopRtspsFleet, DEMO_PRINTERS } = await loadSimulator();
  const fleet = await startFleet(DEMO_PRINTERS);
  const rtsps = await startDemoRtsps().catch(async (err) => {
    await stopFleet(fleet);
    throw err;
  });
  onShutdown(async () => {
    await stopFleet(fleet);
    await stopRtspsFleet(rtsps);
  });
  const lines = ["Simulated printers on 127.0.0.1 (access codes are the simulator's own):"];
  for (const p of fleet) {
    lines.push(
      `  ${p.spec.name}: chamber camera 127.0.0.1:${p.chamberPort}${p.mqtt ? `  MQTT 127.0.0.1:${p.mqtt.port}` : ''}  serial ${p.spec.serial}  access code ${p.spec.accessCode}`,
    );
  }
  for (const p of rtsps) {
    lines.push(
      `  ${p.spec.name}: rtsps://bblp:${p.spec.accessCode}@127.0.0.1:${p.camera.port}/streaming/live/1  serial ${p.spec.serial}`,
    );
  }
  lines.push('Press Ctrl+C to stop.');
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** `bambucam ca`: the CA of the native servers (created if missing), for clients' trust bundles. */
function printCa(file: string | undefined): void {
  const env = process.env;
  const path = file ?? env.BAMBUCAM_CONFIG ?? (existsSync('bambucam.yaml') ? 'bambucam.yaml' : undefined);
  const dataDir = path ? loadConfigFile(path, env).config.dataDir : buildConfig({}, env).config.dataDir;
  const ca = loadOrCreateCa(dataDir);
  process.stdout.write(
    `${ca.created ? 'Created' : 'CA'}: ${ca.certPath}\nAdd this certificate to the trust bundle of clients of bambucam's native servers (see docs/native-chamber.md):\n\n${ca.ca.cert}`,
  );
}

async function doctor(loaded: LoadedConfig, id: string | undefined): Promise<void> {
  for (const problem of loaded.problems) log.error(`config: ${problem}`);
  const printers = loaded.config.printers;
  const printer = id ? printers.find((p) => p.id === id) : printers[0];
  if (!printer) {
    throw new ConfigError(
      id
        ? `no printer with id "${id}"; known: ${printers.map((p) => p.id).join(', ') || 'none'}`
        : 'no usable printer in the configuration',
    );
  }
  // The checks are the output; connection chatter only when something breaks badly.
  setLogLevel('error');
  process.stdout.write(`bambucam doctor: ${printer.id} (${printer.host})\n`);
  const report = await runDoctor({ printer, log: rootLogger.child(printer.id) });
  process.stdout.write(`${redact(report.checks.map(formatCheck).join('\n'))}\n`);
  process.stdout.write(report.ok ? 'All checks passed.\n' : 'Something needs fixing (see ✗ above).\n');
  process.exitCode = report.ok ? 0 : 1;
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string' },
      port: { type: 'string' },
      'printer-ip': { type: 'string' },
      'access-code': { type: 'string' },
      serial: { type: 'string' },
      printer: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const command = positionals[0] ?? 'run';
  if (values.help || command === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  const env = process.env;
  switch (command) {
    case 'demo':
      return demo(values.port);
    case 'simulate':
      return simulate();
    case 'ca':
      return printCa(values.config);
    case 'doctor': {
      const file = values.config ?? env.BAMBUCAM_CONFIG;
      const ip = values['printer-ip'] ?? env.PRINTER_IP;
      const code = values['access-code'] ?? env.ACCESS_CODE;
      let loaded: LoadedConfig;
      if (ip || code) {
        if (!ip || !code)
          throw new ConfigError('doctor needs both --printer-ip and --access-code (or a --config file)');
        loaded = quickConfig({ ip, accessCode: code, serial: values.serial ?? env.SERIAL }, env);
      } else if (file || existsSync('bambucam.yaml')) {
        loaded = loadConfigFile(file ?? 'bambucam.yaml', env);
      } else {
        throw new ConfigError('doctor needs a printer: --printer-ip/--access-code/--serial or --config FILE');
      }
      return doctor(loaded, values.printer);
    }
    case 'run': {
      const file = values.config ?? env.BAMBUCAM_CONFIG;
      const ip = values['printer-ip'] ?? env.PRINTER_IP;
      const code = values['access-code'] ?? env.ACCESS_CODE;
      const serial = values.serial ?? env.SERIAL;
      if (file) {
        await runGateway(applyPort(loadConfigFile(file, env), values.port));
      } else if (ip || code) {
        if (!ip || !code)
          throw new ConfigError(
            'quick mode needs both --printer-ip and --access-code (or PRINTER_IP and ACCESS_CODE)',
          );
        await runGateway(applyPort(quickConfig({ ip, accessCode: code, serial }, env), values.port));
      } else if (existsSync('bambucam.yaml')) {
        await runGateway(applyPort(loadConfigFile('bambucam.yaml', env), values.port));
      } else {
        log.info(
          'no configuration found (no --config, BAMBUCAM_CONFIG, PRINTER_IP or ./bambucam.yaml): running the demo',
        );
        await demo(values.port);
      }
      return;
    }
    default:
      throw new ConfigError(`unknown command "${command}"; try bambucam --help`);
  }
}

main(process.argv.slice(2)).catch((err: Error) => {
  if (err instanceof ConfigError) log.error(`configuration error:\n${err.message}`);
  else log.error(err.message);
  process.exit(err instanceof ConfigError ? 2 : 1);
});
