/** /metrics for the native MQTT servers: clients, messages and commands per printer, read at scrape time. */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { NativeMqttStatusJson } from './mqtt-server';

export function registerNativeMqttMetrics(
  registry: Registry,
  stats: () => [printer: string, status: NativeMqttStatusJson][],
): void {
  new Gauge({
    name: 'bambucam_native_mqtt_clients',
    help: 'MQTT clients connected to the native MQTT server now, by access (rw: access code, ro: viewer code).',
    labelNames: ['printer', 'access'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [printer, s] of stats()) {
        const ro = s.clients.filter((c) => c.read_only).length;
        this.set({ printer, access: 'ro' }, ro);
        this.set({ printer, access: 'rw' }, s.clients.length - ro);
      }
    },
  });
  new Counter({
    name: 'bambucam_native_mqtt_messages_total',
    help: 'MQTT messages received from clients (in) and delivered to clients (out).',
    labelNames: ['printer', 'direction'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [printer, s] of stats()) {
        this.inc({ printer, direction: 'in' }, s.messages_in);
        this.inc({ printer, direction: 'out' }, s.messages_out);
      }
    },
  });
  new Counter({
    name: 'bambucam_native_mqtt_commands_total',
    help: "Clients' requests to the printer by result: forwarded, refused (read-only), rate_limited, printer_offline, withheld (get_access_code), invalid.",
    labelNames: ['printer', 'result'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [printer, s] of stats()) {
        for (const [result, n] of Object.entries(s.commands)) this.inc({ printer, result }, n);
      }
    },
  });
  new Counter({
    name: 'bambucam_native_mqtt_answered_total',
    help: 'pushall and get_version requests answered from bambucam’s state, without asking the printer.',
    labelNames: ['printer', 'request'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [printer, s] of stats()) {
        this.inc({ printer, request: 'pushall' }, s.pushall_answered);
        this.inc({ printer, request: 'get_version' }, s.get_version_answered);
      }
    },
  });
  for (const [name, help, field] of [
    ['clients_dropped_total', 'MQTT clients dropped because they stopped reading.', 'clients_dropped_slow'],
    ['auth_failures_total', 'MQTT logins refused (CONNACK 5).', 'auth_failures'],
  ] as const) {
    new Counter({
      name: `bambucam_native_mqtt_${name}`,
      help,
      labelNames: ['printer'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [printer, s] of stats()) this.inc({ printer }, s[field]);
      },
    });
  }
}
