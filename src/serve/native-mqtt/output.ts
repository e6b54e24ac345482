/**
 * The `native_mqtt` output: one NativeMqttServer per printer that has `native.mqtt` on and an MQTT
 * link (serial, `mqtt: true`). Certificates are leaves of bambucam's local CA (`CN=<serial>`). A server
 * that cannot listen is disabled alone, with a log line and its status in the API.
 */

import { shownHost } from '../../net/hosts';
import type { Output, OutputContext, OutputFactory, OutputState } from '../../output/output';
import { leafAltNames, leafCertificate } from '../../tls/ca';
import { NativeMqttServer } from './mqtt-server';

export class NativeMqttOutput implements Output {
  readonly name = 'native_mqtt';
  private readonly servers = new Map<string, NativeMqttServer>();
  /** Why a printer has no server (disabled or failed). */
  private readonly absent = new Map<string, OutputState>();

  constructor(private readonly ctx: OutputContext) {}

  async start(): Promise<void> {
    const { ctx } = this;
    for (const printer of ctx.printers.values()) {
      const config = printer.config;
      const out = config.native.mqtt;
      const log = ctx.log.child(printer.id).child('native-mqtt');
      if (!out) {
        this.absent.set(printer.id, {
          state: 'disabled',
          reason: 'native.mqtt is false in the configuration',
        });
        continue;
      }
      if (!printer.mqtt || !printer.serial) {
        this.absent.set(printer.id, {
          state: 'disabled',
          reason: "re-serving MQTT needs bambucam's own link to the printer: set serial and mqtt: true",
        });
        continue;
      }
      const host = out.host ?? ctx.config.http.host;
      try {
        const identity = leafCertificate(
          ctx.ca(),
          `${printer.id}-mqtt`,
          printer.serial,
          leafAltNames(printer.serial, [out.host]),
        );
        const codes = [config.accessCode, config.viewerCode].filter((c): c is string => !!c);
        const server = new NativeMqttServer({
          host,
          port: out.port,
          serial: printer.serial,
          identity,
          link: printer.mqtt,
          readWriteCodes: config.nativeAuth === 'printer_or_viewer' ? [config.accessCode] : [],
          readOnlyCodes: config.viewerCode ? [config.viewerCode] : [],
          hiddenCodes: codes,
          log,
          limits: ctx.config.limits,
          ...ctx.tuning.nativeMqtt,
        });
        this.servers.set(printer.id, server);
        await server.start();
        log.info(`MQTT server listening on ${host}:${server.port} (TLS, CN=${printer.serial}, user bblp)`);
      } catch (err) {
        const reason = (err as Error).message;
        log.error(`MQTT server disabled: ${reason}; the other outputs keep running`);
        this.servers.delete(printer.id);
        this.absent.set(printer.id, { state: 'failed', reason });
      }
    }
  }

  async stop(): Promise<void> {
    await Promise.all([...this.servers.values()].map((s) => s.stop()));
  }

  status(printerId: string): OutputState | undefined {
    return this.servers.get(printerId)?.status() ?? this.absent.get(printerId);
  }

  describe(): string[] {
    return [...this.servers].map(([id, server]) => {
      const name = this.ctx.printers.get(id)?.name ?? id;
      return `${name}: the printer's MQTT on mqtts://${shownHost(server.status().host)}:${server.port}  (TLS, user bblp)`;
    });
  }
}

export const nativeMqttOutput: OutputFactory = (ctx) => new NativeMqttOutput(ctx);
