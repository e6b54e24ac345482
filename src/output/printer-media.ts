/**
 * The narrow view of one printer that outputs get: its two hubs, a snapshot, read-only facts and
 * status. Outputs never see the worker that owns the source, the transcoders or the MQTT link's
 * internals; the worker implements this interface (src/worker.ts).
 */
import type { PrinterConfig } from '../config/load';
import type { Frame } from '../hub/frame';
import type { H264Stream } from '../hub/h264-stream';
import type { JpegHub } from '../hub/jpeg-hub';
import type { CameraKind } from '../protocol/models';
import type { PrinterStatus } from './api-types';
import type { PrinterMqtt } from './printer-mqtt';

/** What the printer itself reports for the API; outputs add `native`, `hls` and `urls`. */
export type PrinterCoreStatus = Omit<PrinterStatus, 'native' | 'hls' | 'urls'>;

/** What an output may read about a printer at any time (no secrets). */
export interface PrinterFacts {
  /** Source state: 'idle' | 'connecting' | 'streaming' | 'offline' | 'auth_failed' | ... */
  readonly state: string;
  readonly reason: string | null;
  /** Model name, or 'auto' while unknown. */
  readonly model: string;
  /** The camera kind in use, or null while it is being detected. */
  readonly camera: CameraKind | null;
  readonly firmware: string | null;
  /** Frames per second arriving in the JPEG hub (10 s window). */
  readonly fps: number;
  /** Camera connections opened to the printer so far. */
  readonly upstreamConnectionsOpened: number;
  /** Why this printer has no H.264 at all (a chamber printer without ffmpeg), or null. */
  readonly h264Unavailable: string | null;
}

export interface PrinterMedia {
  readonly id: string;
  readonly name: string;
  readonly serial: string | null;
  /** The printer's configuration entry, read-only. Outputs that re-serve the printer's own protocols need its codes. */
  readonly config: Readonly<PrinterConfig>;
  /** JPEG fan-out: the printer's own frames (chamber) or the decoder's (RTSPS). */
  readonly jpeg: JpegHub;
  /** H.264 fan-out: the printer's own stream (RTSPS) or the encoder's (chamber). */
  readonly h264: H264Stream;
  /** The printer's MQTT link as outputs may use it, or null (no serial, or `mqtt: false`). */
  readonly mqtt: PrinterMqtt | null;
  facts(): PrinterFacts;
  /** The printer's own part of its API status (source, camera, MQTT link, hubs, transcoder). */
  statusJson(): PrinterCoreStatus;
  /** A picture for a snapshot: the latest, or the next one within `waitMs` (starts the decoder if needed). */
  snapshot(waitMs: number): Promise<Frame | null>;
  /** Ask whatever makes the H.264 for a keyframe soon (a WebRTC PLI); rate-limited by the maker; no-op for RTSPS. */
  requestKeyframe(): void;
}
