/** One JPEG picture with its arrival time (ms since epoch) and a per-hub sequence number. */
export interface Frame {
  readonly jpeg: Buffer;
  readonly seq: number;
  readonly receivedAt: number;
}
