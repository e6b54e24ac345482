/** GET /metrics: Prometheus text, read from the workers at scrape time. */
import { Counter, Gauge, Registry } from 'prom-client';
import type { PrinterWorker } from '../../worker';
import { type GuardStatusJson, guardStatusOf } from '../guard/address-guard';

/** Counters of both hubs: JPEG outputs (mjpeg, snapshot, encoder, ...) and H.264 ones (rtsp, native_rtsps, decoder). */
function outputs(
  w: PrinterWorker,
): [string, { viewers: number; delivered: number; dropped: number; stalled: number }][] {
  return [...Object.entries(w.hub.outputCounters()), ...Object.entries(w.h264.outputCounters())];
}

/** The guards of a worker's native servers, by output name as the hub counts it ('native' is :6000). */
function guards(w: PrinterWorker): [string, GuardStatusJson][] {
  const out: [string, GuardStatusJson][] = [];
  for (const [name, status] of Object.entries(w.native)) {
    const guard = guardStatusOf(status());
    if (guard) out.push([name === 'chamber' ? 'native' : `native_${name}`, guard]);
  }
  return out;
}

export function createMetrics(
  workers: () => PrinterWorker[],
  resizer: { resizes: number; queue: { refused: number } },
): Registry {
  const registry = new Registry();
  const each = (fn: (w: PrinterWorker) => void) => {
    for (const w of workers()) fn(w);
  };
  new Gauge({
    name: 'bambucam_source_up',
    help: '1 while the printer camera source is streaming, else 0.',
    labelNames: ['printer'],
    registers: [registry],
    collect() {
      this.reset();
      each((w) => this.set({ printer: w.id }, w.status.state === 'streaming' ? 1 : 0));
    },
  });
  new Gauge({
    name: 'bambucam_source_fps',
    help: 'Frames per second received from the printer (10 s window).',
    labelNames: ['printer'],
    registers: [registry],
    collect() {
      this.reset();
      each((w) => this.set({ printer: w.id }, w.hub.fps()));
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
        if (w.hub.latest) this.set({ printer: w.id }, (Date.now() - w.hub.latest.receivedAt) / 1000);
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
      each((w) => this.inc({ printer: w.id }, w.hub.framesIn));
    },
  });
  new Counter({
    name: 'bambucam_upstream_connections_total',
    help: 'Camera connections opened to the printer.',
    labelNames: ['printer'],
    registers: [registry],
    collect() {
      this.reset();
      each((w) => this.inc({ printer: w.id }, w.status.connectionsOpened));
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
  new Gauge({
    name: 'bambucam_connections_unauthenticated',
    help: 'Connections waiting to authenticate now.',
    labelNames: ['printer', 'output'],
    registers: [registry],
    collect() {
      this.reset();
      each((w) => {
        for (const [output, g] of guards(w)) this.set({ printer: w.id, output }, g.pending);
      });
    },
  });
  new Gauge({
    name: 'bambucam_addresses_blocked',
    help: 'Remote addresses refused now after too many failures.',
    labelNames: ['printer', 'output'],
    registers: [registry],
    collect() {
      this.reset();
      each((w) => {
        for (const [output, g] of guards(w)) this.set({ printer: w.id, output }, g.addresses_blocked);
      });
    },
  });
  new Counter({
    name: 'bambucam_snapshot_resizes_total',
    help: 'Resized snapshots computed (one per frame and size, shared by all requests).',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(resizer.resizes);
    },
  });
  new Counter({
    name: 'bambucam_snapshot_resizes_refused_total',
    help: 'Resize requests answered 503 because too many resizes were running and waiting.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(resizer.queue.refused);
    },
  });
  return registry;
}
