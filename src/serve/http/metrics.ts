/** GET /metrics: Prometheus text, read from the printers and outputs at scrape time. */
import { Counter, Gauge, Registry } from 'prom-client';
import type { Output, OutputState } from '../../output/output';
import type { PrinterMedia } from '../../output/printer-media';
import { type GuardStatusJson, guardStatusOf } from '../guard/address-guard';
import { registerNativeMqttMetrics } from '../native-mqtt/metrics';
import type { NativeMqttStatusJson } from '../native-mqtt/mqtt-server';

export interface MetricsSource {
  printers: () => Iterable<PrinterMedia>;
  /** Every output's state for one printer, by output name (those that serve it one by one). */
  outputStates: (printerId: string) => [string, OutputState][];
  /** Outputs that add metrics of their own (Output.registerMetrics). */
  outputs?: () => readonly Output[];
  snapshotResizes: () => number;
  /** Resize requests refused because the queue was full. */
  snapshotResizesRefused: () => number;
  /** Guards of listeners shared by all printers (HTTP, RTSP), by output name. */
  serverGuards?: () => [string, GuardStatusJson][];
}

/** Counters of both hubs: JPEG outputs (mjpeg, snapshot, encoder, ...) and H.264 ones (rtsp, hls, decoder, ...). */
function outputs(
  w: PrinterMedia,
): [string, { viewers: number; delivered: number; dropped: number; stalled: number }][] {
  return [...Object.entries(w.jpeg.outputCounters()), ...Object.entries(w.h264.outputCounters())];
}

export function createMetrics(source: MetricsSource): Registry {
  const registry = new Registry();
  const { snapshotResizes, snapshotResizesRefused } = source;
  /** The per-address guards of a printer's outputs (those that authenticate), by output name. */
  const guards = (w: PrinterMedia): [string, GuardStatusJson][] => {
    const out: [string, GuardStatusJson][] = [];
    for (const [name, st] of source.outputStates(w.id)) {
      const guard = guardStatusOf(st);
      if (guard) out.push([name, guard]);
    }
    return out;
  };
  const each = (fn: (w: PrinterMedia) => void) => {
    for (const w of source.printers()) fn(w);
  };
  new Gauge({
    name: 'bambucam_source_up',
    help: '1 while the printer camera source is streaming, else 0.',
    labelNames: ['printer'],
    registers: [registry],
    collect() {
      this.reset();
      each((w) => this.set({ printer: w.id }, w.facts().state === 'streaming' ? 1 : 0));
    },
  });
  new Gauge({
    name: 'bambucam_source_fps',
    help: 'Frames per second received from the printer (10 s window).',
    labelNames: ['printer'],
    registers: [registry],
    collect() {
      this.reset();
      each((w) => this.set({ printer: w.id }, w.jpeg.fps()));
    },
  });
  new Gauge({
    name: 'bambucam_last_frame_age_seconds',
    help: 'Age of the latest frame from the printer.',
    labelNames: ['printer'],
    registers: [registry],
    collect() {
      this.reset();
      each((w) => {
        if (w.jpeg.latest) this.set({ printer: w.id }, (Date.now() - w.jpeg.latest.receivedAt) / 1000);
      });
    },
  });
  new Counter({
    name: 'bambucam_frames_received_total',
    help: 'Frames received from the printer.',
    labelNames: ['printer'],
    registers: [registry],
    collect() {
      this.reset();
      each((w) => this.inc({ printer: w.id }, w.jpeg.framesIn));
    },
  });
  new Counter({
    name: 'bambucam_upstream_connections_total',
    help: 'Camera connections opened to the printer.',
    labelNames: ['printer'],
    registers: [registry],
    collect() {
      this.reset();
      each((w) => this.inc({ printer: w.id }, w.facts().upstreamConnectionsOpened));
    },
  });
  new Gauge({
    name: 'bambucam_viewers',
    help: 'Viewers connected now, per output.',
    labelNames: ['printer', 'output'],
    registers: [registry],
    collect() {
      this.reset();
      each((w) => {
        for (const [output, c] of outputs(w)) {
          this.set({ printer: w.id, output }, c.viewers);
        }
      });
    },
  });
  for (const [field, help] of [
    ['delivered', 'Frames (JPEG) or pictures (H.264) delivered to viewers.'],
    ['dropped', 'Frames skipped for viewers that were busy or capped (newer frames replaced them).'],
    ['stalled', 'Viewers disconnected because they stopped reading.'],
  ] as const) {
    new Counter({
      name: `bambucam_frames_${field}_total`,
      help,
      labelNames: ['printer', 'output'],
      registers: [registry],
      collect() {
        this.reset();
        each((w) => {
          for (const [output, c] of outputs(w)) {
            this.inc({ printer: w.id, output }, c[field]);
          }
        });
      },
    });
  }
  new Gauge({
    name: 'bambucam_output_up',
    help: "1 while an output serves the printer (listening or running), 0 when it failed or is disabled; the API's outputs.<name>.reason says why.",
    labelNames: ['printer', 'output', 'state'],
    registers: [registry],
    collect() {
      this.reset();
      each((w) => {
        for (const [output, st] of source.outputStates(w.id)) {
          const up = st.state === 'listening' || st.state === 'running' ? 1 : 0;
          this.set({ printer: w.id, output, state: st.state }, up);
        }
      });
    },
  });
  // Per-address limits (issue 13): what strangers tried on each output's port.
  const guardCounter = (
    name: string,
    help: string,
    read: (g: GuardStatusJson) => [Record<string, string>, number][],
    labels: string[] = [],
  ) =>
    new Counter({
      name,
      help,
      labelNames: ['printer', 'output', ...labels],
      registers: [registry],
      collect() {
        this.reset();
        each((w) => {
          for (const [output, g] of guards(w))
            for (const [extra, n] of read(g)) this.inc({ printer: w.id, output, ...extra }, n);
        });
        // Shared listeners belong to no printer: no printer label.
        for (const [output, g] of source.serverGuards?.() ?? [])
          for (const [extra, n] of read(g)) this.inc({ output, ...extra }, n);
      },
    });
  guardCounter('bambucam_auth_failures_total', 'Wrong codes or credentials offered to an output.', (g) => [
    [{}, g.failures],
  ]);
  guardCounter('bambucam_auth_delayed_total', 'Verdicts delayed because the address failed before.', (g) => [
    [{}, g.delayed],
  ]);
  guardCounter(
    'bambucam_connections_refused_total',
    'Connections closed at once: from a blocked address, or over the per-address or total limit of connections not yet authenticated.',
    (g) => [
      [{ reason: 'blocked' }, g.refused_blocked],
      [{ reason: 'address_limit' }, g.refused_address_limit],
      [{ reason: 'total_limit' }, g.refused_total_limit],
    ],
    ['reason'],
  );
  guardCounter(
    'bambucam_connections_evicted_total',
    'Connections not yet authenticated closed to make room for a newcomer from a quieter address.',
    (g) => [[{}, g.evicted]],
  );
  guardCounter(
    'bambucam_connections_abandoned_total',
    'Connections closed without offering credentials (silent, timed out, not the protocol).',
    (g) => [[{}, g.abandoned]],
  );
  for (const [name, help, read] of [
    [
      'bambucam_connections_unauthenticated',
      'Connections waiting to authenticate now.',
      (g: GuardStatusJson) => g.pending,
    ],
    [
      'bambucam_addresses_blocked',
      'Remote addresses refused now after too many failures.',
      (g: GuardStatusJson) => g.addresses_blocked,
    ],
  ] as const) {
    new Gauge({
      name,
      help,
      labelNames: ['printer', 'output'],
      registers: [registry],
      collect() {
        this.reset();
        each((w) => {
          for (const [output, g] of guards(w)) this.set({ printer: w.id, output }, read(g));
        });
        for (const [output, g] of source.serverGuards?.() ?? []) this.set({ output }, read(g));
      },
    });
  }
  // Outputs with counters of their own beyond the hubs' (read from their status at scrape time).
  registerNativeMqttMetrics(registry, () => {
    const out: [string, NativeMqttStatusJson][] = [];
    each((w) => {
      for (const [name, st] of source.outputStates(w.id))
        if (name === 'native_mqtt' && st.state === 'listening') out.push([w.id, st as NativeMqttStatusJson]);
    });
    return out;
  });
  for (const output of source.outputs?.() ?? []) output.registerMetrics?.(registry);
  new Counter({
    name: 'bambucam_snapshot_resizes_total',
    help: 'Resized snapshots computed (one per frame and size, shared by all requests).',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(snapshotResizes());
    },
  });
  new Counter({
    name: 'bambucam_snapshot_resizes_refused_total',
    help: 'Resize requests answered 503 because too many resizes were running and waiting.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(snapshotResizesRefused());
    },
  });
  return registry;
}
