/**
 * The composition root: builds a worker per printer and every output of the registry
 * (src/output/registry.ts) in front of them, and starts and stops them in order. Nothing else
 * knows the whole configuration; outputs see printers only as PrinterMedia.
 */
import type { Server } from 'node:http';
import { type AppTuning, idleTuning } from './app-tuning';
import type { GatewayConfig } from './config/load';
import { locateFfmpeg } from './ffmpeg/locate';
import type { HlsMuxer } from './hls/hls-muxer';
import { HlsOutput } from './hls/hls-output';
import { type Logger, rootLogger } from './log';
import type { Output, OutputContext, OutputFactory } from './output/output';
import type { PrinterMedia } from './output/printer-media';
import { OUTPUTS } from './output/registry';
import { HttpOutput } from './serve/http/http-output';
import { HttpRouteTable } from './serve/http/route-table';
import { NativeChamberOutput } from './serve/native-chamber-output';
import { NativeRtspsOutput } from './serve/rtsp/native-rtsps-output';
import { RtspOutput } from './serve/rtsp/rtsp-output';
import type { RtspServer } from './serve/rtsp/server';
import { type LocalCa, loadOrCreateCa } from './tls/ca';
import { PrinterWorker } from './worker';

export type { AppTuning } from './app-tuning';

export interface AppOptions {
  config: GatewayConfig;
  log?: Logger;
  tuning?: AppTuning;
  /** ffmpeg for transcoders; default: locateFfmpeg(). null: none (H.264/JPEG conversion disabled). */
  ffmpegPath?: string | null;
  /** The outputs to build; default: every output of the registry. */
  outputs?: readonly OutputFactory[];
}

export class App {
  readonly workers = new Map<string, PrinterWorker>();
  readonly outputs: readonly Output[];
  private readonly log: Logger;

  constructor(opts: AppOptions) {
    this.log = opts.log ?? rootLogger;
    const ffmpegPath = opts.ffmpegPath === undefined ? (locateFfmpeg()?.path ?? null) : opts.ffmpegPath;
    // One key (idle_stop_s) for the idle stops of encoders, decoders and HLS muxers.
    const tuning: AppTuning = { ...idleTuning(opts.config.idleStopS), ...opts.tuning };
    for (const printer of opts.config.printers) {
      this.workers.set(
        printer.id,
        new PrinterWorker(printer, this.log.child(printer.id), tuning, ffmpegPath),
      );
    }
    let ca: LocalCa | null = null;
    const outputs: Output[] = [];
    const ctx: OutputContext = {
      config: opts.config,
      printers: this.workers as ReadonlyMap<string, PrinterMedia>,
      log: this.log,
      tuning,
      // Loaded once for every output that needs it (native servers), on first use.
      ca: () => {
        if (!ca) {
          ca = loadOrCreateCa(opts.config.dataDir);
          if (ca.created)
            this.log.child('tls').info(`created the local CA ${ca.certPath} (see: bambucam ca)`);
        }
        return ca;
      },
      http: new HttpRouteTable(),
      outputs: () => outputs,
    };
    for (const factory of opts.outputs ?? OUTPUTS) {
      const output = factory(ctx);
      if (output) outputs.push(output);
    }
    this.outputs = outputs;
  }

  /** The output of one class, if built. */
  output<T extends Output>(kind: abstract new (...args: never[]) => T): T | undefined {
    return this.outputs.find((o): o is T => o instanceof kind);
  }

  get httpPort(): number {
    return this.output(HttpOutput)?.port ?? 0;
  }

  /** The HTTP server (tests count its connections), or null while it does not listen. */
  get httpServer(): Server | null {
    return this.output(HttpOutput)?.httpServer ?? null;
  }

  /** bambucam's RTSP server, or null when it is not listening. */
  get rtsp(): RtspServer | null {
    const out = this.output(RtspOutput);
    return out?.running ? out.server : null;
  }

  get rtspPort(): number {
    return this.rtsp?.port ?? 0;
  }

  /** Native RTSPS re-servers that listen, per printer id. */
  get nativeRtsps(): Map<string, RtspServer> {
    return this.output(NativeRtspsOutput)?.listening ?? new Map();
  }

  get nativeChamber(): NativeChamberOutput {
    return this.output(NativeChamberOutput) as NativeChamberOutput;
  }

  /** A printer's HLS muxer. */
  hls(printerId: string): HlsMuxer | undefined {
    return this.output(HlsOutput)?.muxers.get(printerId);
  }

  /** Start-up lines: every output's own description of where it is reachable (never a secret). */
  describe(): string[] {
    return this.outputs.flatMap((o) => o.describe());
  }

  async start(): Promise<void> {
    const started: Output[] = [];
    try {
      for (const output of this.outputs) {
        await output.start();
        started.push(output);
      }
    } catch (err) {
      // Only a fatal output (HTTP) throws: stop what already runs and report.
      for (const output of started.reverse()) await output.stop();
      throw err;
    }
    for (const worker of this.workers.values()) worker.start();
    const open = this.outputs.flatMap((o) => o.openToNetwork?.() ?? []);
    if (open.length)
      this.log.warn(
        `${open.join(' and ')} without authentication: anyone on the network can watch; set http.users / rtsp.users (docs/security.md)`,
      );
  }

  async stop(): Promise<void> {
    for (const output of [...this.outputs].reverse()) {
      if (output instanceof HttpOutput) continue;
      await output.stop();
    }
    await Promise.all([...this.workers.values()].map((w) => w.stop()));
    // HTTP last: viewers' streams end with the workers' hubs.
    await this.output(HttpOutput)?.stop();
  }
}
