/**
 * The shape of /api/printers, shared by the gateway (which builds it) and the web page and card
 * (which read it: web/src/status.ts re-exports these types), so neither side can drift. Types only:
 * nothing here may import Node modules.
 */

export type SourceState =
  | 'idle'
  | 'connecting'
  | 'streaming'
  | 'auth_failed'
  | 'liveview_off'
  | 'offline'
  | 'stopped';

export interface SourceStatusJson {
  state: SourceState;
  reason: string | null;
  since: string;
  next_retry_at: string | null;
  connections_opened: number;
  connections_open: number;
  last_connected_at: string | null;
  last_error: string | null;
}

/** One output's counters for one printer (from the hubs) and its own state. */
export interface OutputStatusJson {
  viewers?: number;
  delivered?: number;
  dropped?: number;
  repeated?: number;
  stalled?: number;
  backlog_bytes?: number;
  max_viewer_backlog_bytes?: number;
  /** 'listening' | 'running' | 'disabled' | 'failed', for outputs with a listener or a switch. */
  state?: string;
  listen?: string;
  reason?: string | null;
  [extra: string]: unknown;
}

export interface PrinterUrls {
  snapshot: string;
  mjpeg: string;
  hls: string;
  rtsp_path: string;
  [more: string]: string;
}

export interface PrinterStatus {
  id: string;
  name: string;
  host: string;
  serial: string | null;
  model: string;
  camera: { kind: 'chamber' | 'rtsps' | null; reason: string };
  /** The printer's MQTT link, or why there is none. */
  mqtt:
    | ({ state: string; reason?: string | null; ipcam?: { liveview?: string | null } | null } & Record<
        string,
        unknown
      >)
    | null;
  light: Record<string, unknown>;
  source: SourceStatusJson;
  fps: number;
  frames_in: number;
  last_frame_at: string | null;
  last_frame_age_ms: number | null;
  last_frame_bytes: number | null;
  upstream_connections_opened: number;
  upstream_connections_open: number;
  /** Viewers per output name. */
  viewers: Record<string, number>;
  /** Every output's counters and state, by output name. */
  outputs: Record<string, OutputStatusJson>;
  h264: {
    fps: number;
    pictures_in: number;
    width: number | null;
    height: number | null;
    outputs: Record<string, { viewers: number; delivered: number; dropped: number; stalled: number }>;
  };
  transcoder: Record<string, unknown> | null;
  /** The printer's own protocols re-served: chamber (:6000), rtsps (:322), ... */
  native: Record<string, OutputStatusJson>;
  hls: Record<string, unknown>;
  urls: PrinterUrls;
}
