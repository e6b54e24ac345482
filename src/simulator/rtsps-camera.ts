/**
 * A simulated X1-type camera (RTSPS :322) that behaves like the printers' LIVE555 server
 * (PROTOCOLS.md §4): Digest realm "LIVE555 Streaming Media" with a 32-hex nonce, its `Public` list,
 * `Content-Base`, `track1`, `Session: <id>;timeout=10` that expires without keep-alives, H.264
 * Constrained Baseline at 30 fps, a strict connection limit, and a "LAN Only Liveview off" mode
 * (port closed, or connections closed at once).
 *
 * The picture comes from one ffmpeg (testsrc2 → libx264 baseline, Annex-B) per simulated printer,
 * packetized by the simulator's own feed and served by its own LIVE555 imitation (live555-server.ts),
 * not by the gateway's code.
 */

import { FfmpegProcess } from '../ffmpeg/process';
import { rootLogger } from '../log';
import { AnnexBAccessUnits } from '../protocol/h264';
import { generateCertificate, type KeyAndCert } from '../tls/certs';
import { H264Feed } from './h264-feed';
import { Live555Server } from './live555-server';
import { timecodeFilters } from './timecode';

export interface SimulatedRtspsOptions {
  name: string;
  serial: string;
  accessCode: string;
  ffmpegPath: string;
  host?: string;
  /** 0 picks a free port (kept across liveview off/on). */
  port?: number;
  width?: number;
  height?: number;
  fps?: number;
  /** Camera connections allowed at once (X2D: 1). */
  maxConnections?: number;
  /** Seconds in `Session: <id>;timeout=`. */
  sessionTimeoutS?: number;
  /** RTP timestamps that never advance (P2S firmware 01.02). */
  frozenTimestamps?: boolean;
  /** Draw the machine-readable wall clock (src/simulator/timecode.ts) into the picture, for latency benchmarks. */
  timecode?: boolean;
  identity?: KeyAndCert;
}

export type LiveviewOffMode = 'port-closed' | 'close-at-once';

export class SimulatedRtspsCamera {
  readonly identity: KeyAndCert;
  /** The picture as sent (its `sps` is what a client's SDP must carry). */
  readonly stream = new H264Feed();
  private readonly generator: FfmpegProcess;
  private server: Live555Server | null = null;
  private units = new AnnexBAccessUnits();
  private frame = 0;
  private boundPort: number;
  private liveview: 'on' | LiveviewOffMode = 'on';
  private readonly log = rootLogger.child('simulator');
  /** Totals over server restarts. */
  private previous = { connections: 0, sessionsStarted: 0, unauthorized: 0, refused: 0, sessionsExpired: 0 };

  constructor(private readonly opts: SimulatedRtspsOptions) {
    this.identity = opts.identity ?? generateCertificate({ commonName: opts.serial, issuerName: 'BBL CA' });
    this.boundPort = opts.port ?? 0;
    const fps = opts.fps ?? 30;
    this.generator = new FfmpegProcess({
      path: opts.ffmpegPath,
      log: this.log.child(opts.name),
      // biome-ignore format: argv reads best in flag/value pairs
      args: [
        '-hide_banner', '-loglevel', 'error', '-nostats', '-re',
        '-f', 'lavfi', '-i', `testsrc2=size=${opts.width ?? 1280}x${opts.height ?? 720}:rate=${fps}`,
        ...(opts.timecode ? ['-vf', timecodeFilters(fps)] : []),
        '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-profile:v', 'baseline',
        '-level', '3.1', '-g', String(fps), '-bf', '0', '-threads', '1', '-f', 'h264', 'pipe:1',
      ],
      onStdout: (chunk) => {
        for (const unit of this.units.push(chunk)) {
          const ts = opts.frozenTimestamps ? 0 : (this.frame * 90000) / fps;
          this.frame++;
          this.stream.push(unit, Math.round(ts));
        }
      },
    });
    this.generator.on('spawn', () => {
      this.units = new AnnexBAccessUnits();
    });
  }

  get port(): number {
    return this.boundPort;
  }

  get name(): string {
    return this.opts.name;
  }

  /** What clients did, over the camera's whole life. */
  get stats() {
    const s = this.server?.stats;
    return {
      connections: this.previous.connections + (s?.connections ?? 0),
      sessionsStarted: this.previous.sessionsStarted + (s?.sessionsStarted ?? 0),
      unauthorized: this.previous.unauthorized + (s?.unauthorized ?? 0),
      refused: this.previous.refused + (s?.refused ?? 0),
      sessionsExpired: this.previous.sessionsExpired + (s?.sessionsExpired ?? 0),
      connectionsOpen: s?.connectionsOpen ?? 0,
      playing: this.server?.playing ?? 0,
    };
  }

  async start(): Promise<void> {
    this.generator.start();
    await this.listen();
  }

  private async listen(): Promise<void> {
    const off = this.liveview === 'close-at-once';
    const server = new Live555Server({
      log: this.log.child(this.opts.name),
      host: this.opts.host ?? '127.0.0.1',
      port: this.boundPort,
      identity: this.identity,
      path: '/streaming/live/1',
      credentials: () => [{ username: 'bblp', password: this.opts.accessCode }],
      feed: this.stream,
      sessionTimeoutS: this.opts.sessionTimeoutS ?? 10,
      maxConnections: off ? 0 : (this.opts.maxConnections ?? 2),
    });
    await server.start();
    this.server = server;
    this.boundPort = server.port;
  }

  private async closeServer(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    for (const k of Object.keys(this.previous) as (keyof typeof this.previous)[])
      this.previous[k] += server.stats[k];
    await server.stop();
  }

  /** Turn "LAN Only Liveview" on or off; off closes every session. */
  async setLiveview(mode: 'on' | LiveviewOffMode): Promise<void> {
    if (mode === this.liveview) return;
    this.liveview = mode;
    await this.closeServer();
    if (mode !== 'port-closed') await this.listen();
  }

  /** Drop every camera connection (a printer reboot, a Wi-Fi hiccup); the port stays open. */
  async dropConnections(): Promise<void> {
    if (this.liveview !== 'on') return;
    await this.closeServer();
    await this.listen();
  }

  setAccessCode(code: string): void {
    this.opts.accessCode = code;
  }

  async stop(): Promise<void> {
    await this.closeServer();
    await this.generator.stop();
  }
}
