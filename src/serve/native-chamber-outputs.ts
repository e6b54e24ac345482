/**
 * The native chamber-image servers of all printers: the CA and leaf certificates from the data
 * directory, one ChamberServer per printer that has `native.chamber` on. A server that cannot
 * listen (port taken, no privilege) is disabled alone, with a log line and its status in the API.
 */
import type { GatewayConfig } from '../config/load';
import type { Logger } from '../log';
import { type LocalCa, leafAltNames, leafCertificate, loadOrCreateCa } from '../tls/ca';
import type { PrinterWorker } from '../worker';
import { ChamberServer } from './chamber-server';

export interface NativeChamberOutputsOptions {
  config: GatewayConfig;
  workers: Map<string, PrinterWorker>;
  log: Logger;
  authTimeoutMs?: number;
}

export class NativeChamberOutputs {
  readonly servers = new Map<string, ChamberServer>();

  constructor(private readonly opts: NativeChamberOutputsOptions) {}

  async start(): Promise<void> {
    const { config, workers, log } = this.opts;
    let ca: LocalCa | null = null;
    for (const worker of workers.values()) {
      const printer = worker.printer;
      const out = printer.native.chamber;
      const plog = log.child(printer.id).child('native');
      if (!out) {
        worker.native.chamber = () => ({
          state: 'disabled',
          reason: 'native.chamber is false in the configuration',
        });
        continue;
      }
      const host = out.host ?? config.http.host;
      try {
        if (!ca) {
          ca = loadOrCreateCa(config.dataDir);
          if (ca.created) log.child('tls').info(`created the local CA ${ca.certPath} (see: bambucam ca)`);
        }
        const commonName = printer.serial ?? printer.id;
        const identity = leafCertificate(
          ca,
          printer.id,
          commonName,
          leafAltNames(printer.serial, [out.host]),
        );
        const codes = [
          printer.nativeAuth === 'printer_or_viewer' ? printer.accessCode : null,
          printer.viewerCode,
        ];
        const server = new ChamberServer({
          host,
          port: out.port,
          identity,
          hub: worker.hub,
          codes: codes.filter((c): c is string => !!c),
          log: plog,
          authTimeoutMs: this.opts.authTimeoutMs,
          limits: config.limits,
        });
        this.servers.set(printer.id, server);
        worker.native.chamber = () => server.status();
        await server.start();
        plog.info(`chamber-image server listening on ${host}:${server.port} (TLS, CN=${commonName})`);
      } catch (err) {
        const reason = (err as Error).message;
        plog.error(`chamber-image server disabled: ${reason}; the other outputs keep running`);
        if (!this.servers.has(printer.id)) worker.native.chamber = () => ({ state: 'failed', reason });
      }
    }
  }

  async stop(): Promise<void> {
    await Promise.all([...this.servers.values()].map((s) => s.stop()));
  }
}
