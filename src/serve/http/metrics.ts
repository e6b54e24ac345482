/** GET /metrics: Prometheus text, read from the workers at scrape time. */
import { Counter, Gauge, Registry } from 'prom-client';
import type { PrinterWorker } from '../../worker';

/** Counters of both hubs: JPEG outputs (mjpeg, snapshot, encoder, ...) and H.264 ones (rtsp, native_rtsps, decoder). */
function outputs(
  w: PrinterWorker,
): [string, { viewers: number; delivered: number; dropped: number; stalled: number }][] {
  return [...Object.entries(w.hub.outputCounters()), ...Object.entries(w.h264.outputCounters())];
}

export function createMetrics(
  workers: () => PrinterWorker[],
  snapshotResizes: () => number,
  /** Outputs' own metrics (seam: until outputs register metrics through the registry). */
  extra?: (registry: Registry) => void,
): Registry {
  const registry = new Registry();
  extra?.(registry);
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
  new Counter({
    name: 'bambucam_snapshot_resizes_total',
    help: 'Resized snapshots computed (one per frame and size, shared by all requests).',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(snapshotResizes());
    },
  });
  return registry;
}
