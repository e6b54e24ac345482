/** One access unit (picture) of a printer's H.264 stream, as the hub holds and hands it to readers. */
export interface StreamUnit {
  /** NAL units without start codes; keyframes carry SPS and PPS in-band. */
  readonly nals: Buffer[];
  readonly key: boolean;
  /** 90 kHz timestamp on the stream's own continuous timeline. */
  readonly timestamp: number;
  /** Sum of the NAL units' lengths. */
  readonly bytes: number;
  readonly receivedAt: number;
}

export interface StreamCounters {
  viewers: number;
  delivered: number;
  dropped: number;
  stalled: number;
}
