/**
 * The native RTSPS output (`native.rtsps`): an RTSPS printer's :322 re-served, one TLS server per
 * printer with the printer's path (`/streaming/live/1`), Digest user `bblp` and its codes, LIVE555's
 * realm, and a leaf certificate of bambucam's local CA (`CN=<serial>`). Chamber printers have no
 * :322 to re-serve (their clients expect :6000). A server that cannot bind is disabled alone.
 */

import { shownHost } from '../../net/hosts';
import { startOrDisable } from '../../net/listen';
import type { Output, OutputContext, OutputFactory, OutputState } from '../../output/output';
import { LIVE555_REALM, RTSPS_PATH, RTSPS_USER } from '../../protocol/rtsp/printer-path';
import { leafAltNames, leafCertificate } from '../../tls/ca';
import { SocketGuard } from '../guard/socket-guard';
import { RtspServer } from './server';

interface PrinterServer {
  server: RtspServer | null;
  guard?: SocketGuard;
  host: string;
  state: OutputState;
}

export class NativeRtspsOutput implements Output {
  readonly name = 'native_rtsps';
  readonly servers = new Map<string, PrinterServer>();

  constructor(private readonly ctx: OutputContext) {}

  async start(): Promise<void> {
    const { ctx } = this;
    for (const printer of ctx.printers.values()) {
      const native = printer.config.native.rtsps;
      const log = ctx.log.child(printer.id).child('native-rtsps');
      if (!native) {
        this.servers.set(printer.id, {
          server: null,
          host: '',
          state: { state: 'disabled', reason: 'native.rtsps is false in the configuration' },
        });
        continue;
      }
      // RTSPS printers (and those still being detected) have a :322 to re-serve.
      if (printer.facts().camera === 'chamber') {
        this.servers.set(printer.id, {
          server: null,
          host: '',
          state: {
            state: 'disabled',
            reason: 'a chamber-image printer has no RTSPS to re-serve (see native.chamber)',
          },
        });
        continue;
      }
      const host = native.host ?? '0.0.0.0';
      const credentials = [{ username: RTSPS_USER, password: printer.config.accessCode }];
      if (printer.config.viewerCode)
        credentials.push({ username: RTSPS_USER, password: printer.config.viewerCode });
      let identity: { key: string; cert: string };
      try {
        identity = leafCertificate(
          ctx.ca(),
          `${printer.id}-rtsps`,
          printer.serial ?? printer.id,
          leafAltNames(printer.serial, [native.host]),
        );
      } catch (err) {
        const reason = `no TLS identity (${(err as Error).message})`;
        log.error(`${reason} — this output is disabled, everything else runs`);
        this.servers.set(printer.id, { server: null, host, state: { state: 'failed', reason } });
        continue;
      }
      // Its own guard: each printer's :322 is a listener of its own, like the printer's.
      const guard = new SocketGuard({ log, limits: ctx.config.limits });
      const server = new RtspServer({
        guard,
        log,
        host,
        port: native.port,
        tls: identity,
        realm: LIVE555_REALM,
        output: 'native_rtsps',
        viewer: ctx.tuning.rtspViewer,
        describeWaitMs: ctx.tuning.describeWaitMs,
        resolve: (path) => (path === RTSPS_PATH ? { stream: printer.h264, credentials } : undefined),
      });
      const failure = await startOrDisable(server, log, host, native.port, {
        port: 'native.rtsps.port',
        host: 'native.rtsps.host',
      });
      if (failure) {
        this.servers.set(printer.id, { server: null, host, state: { state: 'failed', reason: failure } });
        continue;
      }
      const listen = `rtsps://${host}:${server.port}${RTSPS_PATH}`;
      this.servers.set(printer.id, {
        server,
        guard,
        host,
        state: { state: 'listening', listen, user: RTSPS_USER },
      });
      log.info(`listening on ${listen} (user ${RTSPS_USER})`);
    }
  }

  async stop(): Promise<void> {
    const servers = [...this.servers.values()];
    this.servers.clear();
    await Promise.all(servers.map((s) => s.server?.stop()));
  }

  /** The listening servers, by printer id. */
  get listening(): Map<string, RtspServer> {
    const map = new Map<string, RtspServer>();
    for (const [id, s] of this.servers) if (s.server) map.set(id, s.server);
    return map;
  }

  status(printerId: string): OutputState | undefined {
    const s = this.servers.get(printerId);
    if (!s) return undefined;
    if (!s.server) return s.state;
    return {
      ...s.state,
      sessions_playing: s.server.playing,
      ...s.server.stats,
      ...(s.guard ? { guard: s.guard.guard.status() } : {}),
    };
  }

  describe(): string[] {
    const lines: string[] = [];
    for (const [id, s] of this.servers) {
      if (!s.server) continue;
      const name = this.ctx.printers.get(id)?.name ?? id;
      lines.push(
        `${name}: rtsps://${RTSPS_USER}:<access code>@${shownHost(s.host)}:${s.server.port}${RTSPS_PATH}  (native RTSPS)`,
      );
    }
    return lines;
  }
}

export const nativeRtspsOutput: OutputFactory = (ctx) => new NativeRtspsOutput(ctx);
