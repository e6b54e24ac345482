/**
 * The composition root: builds a worker per printer and the servers in front of them, and starts
 * and stops them in order. Nothing else knows the whole configuration.
 */
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import type { AppTuning } from './app-tuning';
import type { GatewayConfig } from './config/load';
import { locateFfmpeg } from './ffmpeg/locate';
import { HaDiscovery, type HaPrinterView } from './ha/discovery';
import { type Logger, rootLogger } from './log';
import { createHttpApp, listen, PACKAGE_ROOT } from './serve/http/server';
import { describeListenError } from './serve/listen-error';
import { NativeChamberOutputs } from './serve/native-chamber-outputs';
import { LIVE555_REALM, RtspServer } from './serve/rtsp-server';
import { RTSPS_PATH, RTSPS_USER } from './source/rtsps';
import { leafAltNames, leafCertificate, loadOrCreateCa } from './tls/ca';
import type { KeyAndCert } from './tls/certs';
import { legacyWebrtcPrinter } from './webrtc/legacy-worker';
import { WebrtcOutput } from './webrtc/webrtc-output';
import { whepRouter } from './webrtc/whep-routes';
import { PrinterWorker } from './worker';

export type { AppTuning } from './app-tuning';

export interface AppOptions {
  config: GatewayConfig;
  log?: Logger;
  tuning?: AppTuning;
  /** ffmpeg for transcoders; default: locateFfmpeg(). null: none (H.264/JPEG conversion disabled). */
  ffmpegPath?: string | null;
  /** TLS identity of the native RTSPS servers, per printer id. Default: a leaf of the local CA in data_dir. */
  nativeTlsIdentity?: (printerId: string) => KeyAndCert;
}

export class App {
  readonly workers = new Map<string, PrinterWorker>();
  rtsp: RtspServer | null = null;
  /** Native RTSPS re-servers (/streaming/live/1 on :322), per printer id. */
  readonly nativeRtsps = new Map<string, RtspServer>();
  readonly nativeChamber: NativeChamberOutputs;
  private http: Server | null = null;
  private ha: HaDiscovery | null = null;
  /** seam: remove when the registry runs (src/output/registry.ts lists it). */
  readonly webrtc: WebrtcOutput;
  private readonly log: Logger;

  constructor(private readonly opts: AppOptions) {
    this.log = opts.log ?? rootLogger;
    const ffmpegPath = opts.ffmpegPath === undefined ? (locateFfmpeg()?.path ?? null) : opts.ffmpegPath;
    for (const printer of opts.config.printers) {
      this.workers.set(
        printer.id,
        new PrinterWorker(printer, this.log.child(printer.id), opts.tuning, ffmpegPath),
      );
    }
    this.nativeChamber = new NativeChamberOutputs({
      config: opts.config,
      workers: this.workers,
      log: this.log,
      authTimeoutMs: opts.tuning?.nativeAuthTimeoutMs,
    });
    // seam: remove when the registry runs — the WebRTC output over a PrinterMedia-like view of each worker.
    this.webrtc = new WebrtcOutput({
      config: opts.config.webrtc,
      printers: new Map([...this.workers].map(([id, w]) => [id, legacyWebrtcPrinter(w)])),
      log: this.log.child('webrtc'),
      tuning: opts.tuning?.webrtc,
    });
    for (const w of this.workers.values()) {
      w.outputStatus.webrtc = () => this.webrtc.status(w.id);
      if (opts.config.webrtc.enabled) w.outputUrls.whep = `/printers/${w.id}/whep`;
    }
    // ---
  }

  get rtspPort(): number {
    return this.rtsp?.port ?? 0;
  }

  /** Bind a server; a failure disables only this output, with a line that says why and what to do. */
  private async tryListen(
    server: RtspServer,
    log: Logger,
    host: string,
    port: number,
    keys: { port: string; host: string },
  ): Promise<boolean> {
    try {
      await server.start();
      return true;
    } catch (err) {
      const hint = describeListenError(err as NodeJS.ErrnoException, port, keys);
      log.error(`cannot listen on ${host}:${port}: ${hint} — this output is disabled, everything else runs`);
      return false;
    }
  }

  private async startRtsp(): Promise<void> {
    const { config, tuning } = this.opts;
    const users = config.rtsp.users;
    const rtsp = new RtspServer({
      log: this.log.child('rtsp'),
      host: config.rtsp.host,
      port: config.rtsp.port,
      output: 'rtsp',
      allowBasic: true,
      viewer: tuning?.rtspViewer,
      describeWaitMs: tuning?.describeWaitMs,
      resolve: (path) => {
        const worker = this.workers.get(path.replace(/^\//, ''));
        return worker ? { stream: worker.h264, credentials: users.length ? users : null } : undefined;
      },
    });
    if (
      await this.tryListen(rtsp, this.log.child('rtsp'), config.rtsp.host, config.rtsp.port, {
        port: 'rtsp.port',
        host: 'rtsp.host',
      })
    ) {
      this.rtsp = rtsp;
      this.log.child('rtsp').info(`listening on rtsp://${config.rtsp.host}:${rtsp.port}/<printer-id>`);
    }
    for (const worker of this.workers.values()) {
      const native = worker.printer.native.rtsps;
      // RTSPS printers (and those still being detected) have a :322 to re-serve; chamber printers' clients expect :6000.
      if (!native || worker.camera?.kind === 'chamber') continue;
      const host = native.host ?? '0.0.0.0';
      const credentials = [{ username: RTSPS_USER, password: worker.printer.accessCode }];
      if (worker.printer.viewerCode)
        credentials.push({ username: RTSPS_USER, password: worker.printer.viewerCode });
      const nativeLog = this.log.child(worker.id).child('native-rtsps');
      let identity: KeyAndCert;
      try {
        // The same local CA as the native :6000 server (bambucam ca), a leaf of its own.
        identity =
          this.opts.nativeTlsIdentity?.(worker.id) ??
          leafCertificate(
            loadOrCreateCa(config.dataDir),
            `${worker.id}-rtsps`,
            worker.printer.serial ?? worker.id,
            leafAltNames(worker.printer.serial, [native.host]),
          );
      } catch (err) {
        nativeLog.error(
          `no TLS identity (${(err as Error).message}) — this output is disabled, everything else runs`,
        );
        continue;
      }
      const server = new RtspServer({
        log: this.log.child(worker.id).child('native-rtsps'),
        host,
        port: native.port,
        tls: identity,
        realm: LIVE555_REALM,
        output: 'native_rtsps',
        viewer: tuning?.rtspViewer,
        describeWaitMs: tuning?.describeWaitMs,
        resolve: (path) => (path === RTSPS_PATH ? { stream: worker.h264, credentials } : undefined),
      });
      if (
        await this.tryListen(server, nativeLog, host, native.port, {
          port: 'native.rtsps.port',
          host: 'native.rtsps.host',
        })
      ) {
        this.nativeRtsps.set(worker.id, server);
        nativeLog.info(`listening on rtsps://${host}:${server.port}${RTSPS_PATH} (user ${RTSPS_USER})`);
      }
    }
  }

  get httpPort(): number {
    return (this.http?.address() as AddressInfo | null)?.port ?? 0;
  }

  async start(): Promise<void> {
    const { config, tuning } = this.opts;
    const app = createHttpApp({
      workers: this.workers,
      log: this.log.child('http'),
      mjpegResendMs: tuning?.mjpegResendMs,
      snapshotWaitMs: tuning?.snapshotWaitMs,
      routers: [whepRouter(this.webrtc)], // seam: remove when the registry runs
    });
    try {
      this.http = await listen(app, config.http.port, config.http.host);
    } catch (err) {
      const hint = describeListenError(err as NodeJS.ErrnoException, config.http.port, {
        port: 'http.port (or BAMBUCAM_HTTP_PORT)',
        host: 'http.host',
      });
      throw new Error(`[http] cannot listen on ${config.http.host}:${config.http.port}: ${hint}`);
    }
    this.log.child('http').info(`listening on http://${config.http.host}:${this.httpPort}/`);
    await this.startRtsp();
    await this.nativeChamber.start();
    await this.webrtc.start(); // seam: remove when the registry runs
    for (const worker of this.workers.values()) worker.start();
    this.startHomeAssistant();
  }

  // --- Home Assistant MQTT discovery (issue 6) ---
  private startHomeAssistant(): void {
    const { config, tuning } = this.opts;
    if (!config.homeassistant.url) return;
    const host = config.http.host;
    const shown = host === '0.0.0.0' || host === '::' ? hostname() : host.includes(':') ? `[${host}]` : host;
    this.ha = new HaDiscovery({
      config: config.homeassistant,
      baseUrl: config.homeassistant.baseUrl ?? `http://${shown}:${this.httpPort}`,
      printers: () => [...this.workers.values()].map(haView),
      log: this.log.child('homeassistant'),
      version: packageVersion(),
      stateIntervalMs: tuning?.haStateIntervalMs,
      reconnectMs: tuning?.haReconnectMs,
    });
    this.ha.start();
  }
  // ---

  async stop(): Promise<void> {
    await this.ha?.stop();
    this.ha = null;
    const servers = [this.rtsp, ...this.nativeRtsps.values()];
    this.rtsp = null;
    this.nativeRtsps.clear();
    await Promise.all(servers.map((s) => s?.stop()));
    await this.nativeChamber.stop();
    await this.webrtc.stop(); // seam: remove when the registry runs
    await Promise.all([...this.workers.values()].map((w) => w.stop()));
    const http = this.http;
    this.http = null;
    if (http) {
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    }
  }
}

function haView(w: PrinterWorker): HaPrinterView {
  return {
    id: w.id,
    name: w.printer.name,
    serial: w.printer.serial,
    model: w.modelName === 'auto' ? null : w.modelName,
    firmware: w.mqtt?.version?.firmware ?? null,
    streaming: w.status.state === 'streaming',
    fps: w.hub.fps(),
    viewers: w.hub.subscriberCount,
    frameSeq: w.hub.latest?.seq ?? 0,
  };
}

function packageVersion(): string {
  try {
    return JSON.parse(readFileSync(resolve(PACKAGE_ROOT, 'package.json'), 'utf8')).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
