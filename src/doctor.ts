/**
 * `bambucam doctor`: checks one printer and the local ffmpeg, and says in plain words what to fix.
 * Each check is a line: ✓ fine, ✗ a problem (with the fix), – for information only. The exit code
 * is non-zero when any line is ✗.
 */
import { execFile } from 'node:child_process';
import type { PrinterConfig } from './config/load';
import {
  FFMPEG_FALLBACK_NOTE,
  FFMPEG_MISSING_HINT,
  locateFfmpeg,
  locateFfprobe,
  probeFfmpeg,
} from './ffmpeg/locate';
import { type Logger, redact } from './log';
import { type ModelInfo, modelByName, modelBySerial } from './protocol/models';
import { ChamberSource } from './source/chamber';
import { type CameraDecision, decideFromConfig, detectCamera, probeTcp } from './source/detect';
import { MqttLink } from './source/mqtt-link';
import { SourceStatus } from './source/status';
import { AuthError } from './source/supervisor';

export type CheckResult = 'ok' | 'fail' | 'info';

export interface Check {
  result: CheckResult;
  text: string;
  /** For a failed check: what to do, in plain words. */
  fix?: string;
}

export interface DoctorOptions {
  printer: PrinterConfig;
  log: Logger;
  env?: NodeJS.ProcessEnv;
  /** Port reachability timeout. */
  connectTimeoutMs?: number;
  /** How long to wait for the printer's MQTT answers and for a picture. */
  answerTimeoutMs?: number;
}

export interface DoctorReport {
  checks: Check[];
  ok: boolean;
}

const SYMBOL: Record<CheckResult, string> = { ok: '✓', fail: '✗', info: '–' };

export function formatCheck(check: Check): string {
  const line = `${SYMBOL[check.result]} ${check.text}`;
  return check.fix && check.result === 'fail' ? `${line}\n    fix: ${check.fix}` : line;
}

const FIX_ACCESS_CODE =
  "copy the access code again from the printer's screen (Settings → WLAN / LAN Only); it changes whenever LAN mode is switched";
const FIX_UNREACHABLE =
  "check the printer's IP address (printer screen: Settings → WLAN), that it is switched on and on the same network as this machine";

export async function runDoctor(opts: DoctorOptions): Promise<DoctorReport> {
  const { printer, log } = opts;
  const connectTimeoutMs = opts.connectTimeoutMs ?? 5000;
  const answerTimeoutMs = opts.answerTimeoutMs ?? 15_000;
  const checks: Check[] = [];
  const add = (result: CheckResult, text: string, fix?: string) => checks.push({ result, text, fix });

  // 1. Ports.
  const { host } = printer;
  const [chamberOpen, rtspsOpen, mqttOpen] = await Promise.all([
    probeTcp(host, printer.ports.chamber, connectTimeoutMs),
    probeTcp(host, printer.ports.rtsps, connectTimeoutMs),
    probeTcp(host, printer.ports.mqtt, connectTimeoutMs),
  ]);

  // 2. MQTT: access code, model, firmware, liveview (needs the serial for its topics).
  let link: MqttLink | null = null;
  let decision: CameraDecision | null = decideFromConfig(printer);
  let mqttModel: ModelInfo | null = null;
  let mqttAuthFailed = false;
  let mqttError: string | null = null;
  let liveview: 'on' | 'off' | null = null;
  if (mqttOpen) {
    link = new MqttLink({
      host,
      port: printer.ports.mqtt,
      accessCode: printer.accessCode,
      serial: printer.serial ?? 'unknown',
      tls: printer.tls,
      log: log.child('mqtt'),
      connectTimeoutMs: answerTimeoutMs,
      // One attempt: doctor never retries against a printer.
      backoffMs: [3_600_000],
      longBackoffMs: [3_600_000],
    });
    link.start();
    try {
      if (!printer.serial) {
        // Without the serial the login still tells whether the code is right; the model cannot be asked.
        const l = link;
        await waitUntil(
          () => l.connected || ['auth_failed', 'offline'].includes(l.status.state),
          answerTimeoutMs,
        );
      }
      decision ??= await detectCamera({
        printer,
        mqtt: printer.serial ? link : null,
        mqttWaitMs: answerTimeoutMs,
      });
      mqttModel = link.model;
      if (printer.serial && link.connected && (mqttModel?.camera ?? decision.kind) === 'rtsps') {
        // The camera settings come with the full state (pushall); give them a moment.
        await waitUntil(() => link?.ipcam?.liveview != null, answerTimeoutMs);
        liveview = link.ipcam?.liveview ?? null;
      }
    } finally {
      mqttAuthFailed = link.status.state === 'auth_failed';
      mqttError = link.status.lastError;
      await link.stop();
    }
  }
  decision ??= await detectCamera({ printer, mqtt: null });
  const cameraModel: ModelInfo | undefined =
    (printer.model !== 'auto' ? modelByName(printer.model) : undefined) ??
    mqttModel ??
    (printer.serial ? modelBySerial(printer.serial) : undefined);

  // Port lines, judged by what the camera needs.
  const portLine = (port: number, what: string, open: boolean, needed: boolean) => {
    if (open) add('ok', `port ${port} (${what}) reachable at ${host}`);
    else if (needed) add('fail', `port ${port} (${what}) not reachable at ${host}`, FIX_UNREACHABLE);
    else add('info', `port ${port} (${what}) closed — not used by this printer's camera`);
  };
  if (decision.kind === 'rtsps' && chamberOpen)
    add('info', `port ${printer.ports.chamber} open — a file tunnel on this model, not its camera`);
  else portLine(printer.ports.chamber, 'chamber camera', chamberOpen, decision.kind === 'chamber');
  portLine(printer.ports.rtsps, 'RTSPS camera', rtspsOpen, decision.kind === 'rtsps');
  portLine(printer.ports.mqtt, 'MQTT', mqttOpen, true);

  // Access code and model.
  if (!mqttOpen) {
    add('info', 'access code not checked over MQTT (port closed); see the camera line');
  } else if (mqttAuthFailed) {
    add('fail', 'access code: wrong — the printer refused the MQTT login (CONNACK 5)', FIX_ACCESS_CODE);
  } else if (mqttError && !link?.version) {
    add('fail', `MQTT login failed: ${mqttError}`, FIX_UNREACHABLE);
  } else {
    add('ok', 'access code accepted (MQTT login)');
  }
  if (!printer.serial) {
    add(
      'info',
      "serial number not given: the model cannot be read over MQTT (pass --serial or set serial; it is on the printer's screen: Settings → Device)",
    );
  }
  if (mqttModel) {
    const configured = printer.model !== 'auto' ? modelByName(printer.model) : undefined;
    if (configured && configured.name !== mqttModel.name) {
      add(
        'fail',
        `model: configured as ${configured.name}, but the printer says "${link?.version?.productName}"`,
        `set model: ${mqttModel.name} (or auto) for this printer`,
      );
    } else {
      add(
        'ok',
        `model: ${mqttModel.name} (the printer says "${link?.version?.productName}", firmware ${link?.version?.firmware ?? 'unknown'})`,
      );
    }
  } else if (cameraModel) {
    add(
      'ok',
      `model: ${cameraModel.name} (from the ${printer.model !== 'auto' ? 'configuration' : 'serial number'})`,
    );
  } else {
    add('info', 'model: unknown (no model or serial configured and MQTT did not say)');
  }
  add('info', `camera: ${decision.kind} (${decision.reason})`);

  // LAN liveview (RTSPS printers only).
  if (decision.kind === 'rtsps') {
    if (liveview === 'on') add('ok', 'LAN liveview is on (ipcam.rtsp_url)');
    else if (liveview === 'off')
      add(
        'fail',
        'LAN liveview is off: the printer does not serve its camera on the network',
        'on the printer\'s screen turn on "LAN Only Liveview" (X1: Settings → Network; H2/P2S: Settings → Network / LAN Only); no restart needed',
      );
    else add('info', 'LAN liveview setting unknown (needs MQTT with the serial number)');
  }

  // Pictures.
  if (decision.kind === 'chamber') {
    checks.push(await checkChamberPictures(printer, log, answerTimeoutMs, chamberOpen));
  } else {
    checks.push(await checkRtspsPictures(printer, liveview, answerTimeoutMs, rtspsOpen, opts.env));
  }

  // ffmpeg.
  checks.push(...(await checkFfmpeg(decision.kind, opts.env)));
  return { checks, ok: checks.every((c) => c.result !== 'fail') };
}

function waitUntil(cond: () => boolean, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const deadline = Date.now() + ms;
    const tick = () => (cond() || Date.now() > deadline ? resolve() : setTimeout(tick, 100));
    tick();
  });
}

async function checkChamberPictures(
  printer: PrinterConfig,
  log: Logger,
  timeoutMs: number,
  open: boolean,
): Promise<Check> {
  if (!open) return { result: 'fail', text: 'camera: no pictures (port closed)', fix: FIX_UNREACHABLE };
  const controller = new AbortController();
  let first: Buffer | null = null;
  const source = new ChamberSource({
    host: printer.host,
    port: printer.ports.chamber,
    accessCode: printer.accessCode,
    serial: printer.serial,
    tls: printer.tls,
    log: log.child('chamber'),
    status: new SourceStatus(),
    connectTimeoutMs: timeoutMs,
    frameTimeoutMs: timeoutMs,
    onFrame: (jpeg) => {
      first ??= jpeg;
      controller.abort();
    },
  });
  try {
    await source.run(controller.signal);
  } catch (err) {
    if (err instanceof AuthError)
      return {
        result: 'fail',
        text: 'camera: wrong access code (the camera closed the connection after the login)',
        fix: FIX_ACCESS_CODE,
      };
    return {
      result: 'fail',
      text: `camera: no pictures: ${(err as Error).message}`,
      fix: 'close other camera viewers (Bambu Studio, Bambu Handy, another proxy): the printer allows only two; then try again',
    };
  }
  const jpeg = first as Buffer | null;
  if (!jpeg)
    return {
      result: 'fail',
      text: 'camera: the connection ended before a picture came',
      fix: FIX_UNREACHABLE,
    };
  return { result: 'ok', text: `camera sends pictures (JPEG, ${Math.round(jpeg.length / 1024)} KB)` };
}

async function checkRtspsPictures(
  printer: PrinterConfig,
  liveview: 'on' | 'off' | null,
  timeoutMs: number,
  open: boolean,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Check> {
  if (liveview === 'off')
    return {
      result: 'fail',
      text: 'camera: no pictures while LAN liveview is off',
      fix: 'turn on LAN Only Liveview (see above)',
    };
  if (!open) return { result: 'fail', text: 'camera: no pictures (RTSPS port closed)', fix: FIX_UNREACHABLE };
  const ffprobe = locateFfprobe(env);
  if (!ffprobe) return { result: 'info', text: 'camera pictures not checked: no ffprobe found' };
  const url = `rtsps://bblp:${encodeURIComponent(printer.accessCode)}@${printer.host}:${printer.ports.rtsps}/streaming/live/1`;
  const args = [
    '-v',
    'error',
    '-rtsp_transport',
    'tcp',
    '-show_entries',
    'stream=codec_name,width,height',
    '-of',
    'csv=p=0',
    url,
  ];
  const answer = await new Promise<{ ok: boolean; text: string }>((resolve) => {
    execFile(ffprobe, args, { timeout: timeoutMs }, (err, stdout, stderr) =>
      resolve(
        err
          ? { ok: false, text: redact(String(stderr).trim().split('\n').pop() ?? err.message) }
          : { ok: true, text: stdout.trim() },
      ),
    );
  });
  if (answer.ok) return { result: 'ok', text: `camera sends pictures (${answer.text.split('\n')[0]})` };
  const auth = /401|Unauthorized/i.test(answer.text);
  return {
    result: 'fail',
    text: `camera: no pictures over RTSPS: ${answer.text || 'no answer'}`,
    fix: auth
      ? FIX_ACCESS_CODE
      : 'make sure LAN Only Liveview is on and no other program holds the camera (X2D allows one viewer)',
  };
}

async function checkFfmpeg(
  kind: CameraDecision['kind'],
  env: NodeJS.ProcessEnv = process.env,
): Promise<Check[]> {
  const found = locateFfmpeg(env);
  if (!found) return [{ result: 'fail', text: 'ffmpeg: not found', fix: FFMPEG_MISSING_HINT }];
  const checks: Check[] = [];
  try {
    const caps = await probeFfmpeg(found.path);
    checks.push({ result: 'ok', text: `ffmpeg ${caps.version}: ${found.path} (from ${found.origin})` });
    if (found.origin === '@ffmpeg-installer/ffmpeg')
      checks.push({ result: 'info', text: `ffmpeg is ${FFMPEG_FALLBACK_NOTE}` });
    // bambucam terminates TLS itself and hands ffmpeg plain RTSP, so TLS in ffmpeg is a nicety.
    checks.push(
      caps.tls
        ? { result: 'ok', text: `ffmpeg has TLS (${caps.tls})` }
        : { result: 'info', text: 'ffmpeg has no TLS (not needed: bambucam terminates TLS itself)' },
    );
    if (kind === 'chamber') {
      checks.push(
        caps.h264Encoder
          ? { result: 'ok', text: `ffmpeg can encode H.264 (${caps.h264Encoder}) for RTSP/HLS` }
          : {
              result: 'fail',
              text: 'ffmpeg cannot encode H.264: no RTSP/HLS for this printer (its camera sends JPEG)',
              fix: 'install an ffmpeg with libx264 (Debian/Ubuntu: apt-get install ffmpeg) or set FFMPEG_PATH',
            },
      );
    } else {
      checks.push(
        caps.h264Decoder
          ? { result: 'ok', text: 'ffmpeg can decode H.264 (snapshots and MJPEG from the RTSPS stream)' }
          : {
              result: 'fail',
              text: 'ffmpeg cannot decode H.264: no snapshots or MJPEG for this printer',
              fix: 'install a full ffmpeg (Debian/Ubuntu: apt-get install ffmpeg) or set FFMPEG_PATH',
            },
      );
    }
  } catch (err) {
    checks.push({
      result: 'fail',
      text: `ffmpeg at ${found.path} does not run: ${(err as Error).message}`,
      fix: FFMPEG_MISSING_HINT,
    });
  }
  return checks;
}
