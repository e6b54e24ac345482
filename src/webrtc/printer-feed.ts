/**
 * What the WebRTC output needs of a printer: its H.264 hub, read with the hub's reader contract
 * (subscribing is wanting; the hub gives the cached GOP first, then live pictures, through a bounded
 * queue per reader that drops whole pictures and resumes on a keyframe), and a way to ask for a
 * keyframe. PrinterMedia (src/output/printer-media.ts) has this shape.
 */

/** One picture (access unit) as the hub hands it out. */
export interface H264Picture {
  readonly nals: Buffer[];
  readonly key: boolean;
  /** 90 kHz, continuous across source restarts. */
  readonly timestamp: number;
  readonly bytes: number;
  readonly receivedAt: number;
}

export interface PictureSink {
  send(unit: H264Picture, done: () => void): void;
  close(reason: string): void;
}

export interface H264Hub {
  /** The stream's SPS NAL unit (header byte first), once known. */
  readonly sps: Buffer | null;
  waitForParameters(timeoutMs: number): Promise<boolean>;
  subscribe(sink: PictureSink, opts: { output: string }): { unsubscribe(): void };
}

export interface WebrtcPrinter {
  readonly id: string;
  readonly h264: H264Hub;
  /** Why this printer has no H.264 at all right now (a chamber printer without ffmpeg), or null. */
  h264Unavailable(): string | null;
  /** A peer lost a picture (PLI/FIR): ask whatever makes the H.264 for a keyframe. No-op for RTSPS. */
  requestKeyframe(): void;
}
