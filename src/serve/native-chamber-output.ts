/**
 * The native chamber-image output (`native.chamber`): per printer a ChamberServer (TLS, default
 * :6000) with a leaf certificate of bambucam's local CA (`CN=<serial>`). A server that cannot
 * listen (port taken, no privilege) is disabled alone, with a log line and its state in the API.
 */

import { shownHost } from '../net/hosts';
import type { Output, OutputContext, OutputFactory, OutputState } from '../output/output';
import { leafAltNames, leafCertificate } from '../tls/ca';
import { ChamberServer } from './chamber-server';

export class NativeChamberOutput implements Output {
  readonly name = 'native_chamber';
  readonly servers = new Map<string, ChamberServer>();
  private readonly states = new Map<string, OutputState>();

  constructor(private readonly ctx: OutputContext) {}

  async start(): Promise<void> {
    const { config, log, printers } = this.ctx;
    for (const printer of printers.values()) {
      const out = printer.config.native.chamber;
      const plog = log.child(printer.id).child('native');
      if (!out) {
        this.states.set(printer.id, {
          state: 'disabled',
          reason: 'native.chamber is false in the configuration',
        });
        continue;
      }
      const host = out.host ?? config.http.host;
      try {
        const commonName = printer.serial ?? printer.id;
        const identity = leafCertificate(
          this.ctx.ca(),
          printer.id,
          commonName,
          leafAltNames(printer.serial, [out.host]),
        );
        const codes = [
          printer.config.nativeAuth === 'printer_or_viewer' ? printer.config.accessCode : null,
          printer.config.viewerCode,
        ];
        const server = new ChamberServer({
          host,
          port: out.port,
          identity,
          hub: printer.jpeg,
          codes: codes.filter((c): c is string => !!c),
          log: plog,
          authTimeoutMs: this.ctx.tuning.nativeAuthTimeoutMs,
          limits: config.limits,
        });
        this.servers.set(printer.id, server);
        await server.start();
        plog.info(`chamber-image server listening on ${host}:${server.port} (TLS, CN=${commonName})`);
      } catch (err) {
        const reason = (err as Error).message;
        plog.error(`chamber-image server disabled: ${reason}; the other outputs keep running`);
        if (!this.servers.has(printer.id)) this.states.set(printer.id, { state: 'failed', reason });
      }
    }
  }

  async stop(): Promise<void> {
    await Promise.all([...this.servers.values()].map((s) => s.stop()));
  }

  status(printerId: string): OutputState | undefined {
    const server = this.servers.get(printerId);
    if (!server) return this.states.get(printerId);
    const s = server.status();
    const state = s.state === 'listening' ? 'listening' : s.state === 'failed' ? 'failed' : 'disabled';
    return {
      ...s,
      state,
      ...(state === 'listening' ? { listen: `${s.host}:${s.port}` } : {}),
    };
  }

  describe(): string[] {
    const lines: string[] = [];
    for (const [id, server] of this.servers) {
      if (server.state !== 'listening') continue;
      const name = this.ctx.printers.get(id)?.name ?? id;
      lines.push(
        `${name}: native :6000 protocol on ${shownHost(server.status().host)}:${server.port}  (TLS)`,
      );
    }
    return lines;
  }
}

export const nativeChamberOutput: OutputFactory = (ctx) => new NativeChamberOutput(ctx);
