/**
 * The simulated X1's picture as its RTSPS server sends it: access units from the simulator's encoder,
 * each packetized once into RTP (RFC 6184) on one continuous timeline, with SPS/PPS and the pictures
 * since the last keyframe kept so a new session starts on a keyframe at once.
 *
 * Deliberately not the gateway's H264Stream: the printer and the gateway tested against it share
 * nothing beyond `protocol/` (issue 9), so a bug in the gateway's fan-out cannot hide in both.
 */
import { randomBytes } from 'node:crypto';
import { type AccessUnit, NAL, nalType } from '../protocol/h264';
import { type H264Payload, interleavedRtp, packetizeAccessUnit } from '../protocol/rtsp/rtp-h264';

export const PAYLOAD_TYPE = 96;
/** A source without keyframes must not grow the GOP cache forever. */
const MAX_GOP_PICTURES = 600;

export interface FeedPicture {
  readonly key: boolean;
  /** 90 kHz RTP timestamp. */
  readonly timestamp: number;
  /** Sequence number of its first RTP packet. */
  readonly firstSeq: number;
  readonly payloads: H264Payload[];
}

export type FeedListener = (picture: FeedPicture) => void;

export class H264Feed {
  sps: Buffer | null = null;
  pps: Buffer | null = null;
  readonly ssrc = randomBytes(4).readUInt32BE(0);
  private seq = randomBytes(2).readUInt16BE(0);
  /** Source timestamps start at a random point of the 32-bit clock, as RFC 3550 asks. */
  private readonly offset = randomBytes(4).readUInt32BE(0);
  private gop: FeedPicture[] = [];
  private readonly listeners = new Set<FeedListener>();
  private readonly wires = new WeakMap<FeedPicture, Map<number, Buffer>>();
  private paramWaiters = new Set<() => void>();

  /** One picture from the encoder with its timestamp (90 kHz, from the encoder's frame count). */
  push(au: AccessUnit, sourceTs: number): void {
    for (const n of au.nals) {
      if (nalType(n) === NAL.SPS) this.sps = n;
      else if (nalType(n) === NAL.PPS) this.pps = n;
    }
    let nals = au.nals;
    // A keyframe carries its parameter sets in-band, so a client can start decoding on it.
    if (au.key && this.sps && this.pps && !nals.some((n) => nalType(n) === NAL.SPS))
      nals = [this.sps, this.pps, ...nals];
    const payloads = packetizeAccessUnit(nals);
    const picture: FeedPicture = {
      key: au.key,
      timestamp: (sourceTs + this.offset) >>> 0,
      firstSeq: this.seq,
      payloads,
    };
    this.seq = (this.seq + payloads.length) & 0xffff;
    if (au.key) this.gop = [];
    if (this.gop.length >= MAX_GOP_PICTURES) this.gop = [];
    if (au.key || this.gop.length > 0) this.gop.push(picture);
    if (this.sps && this.pps && this.paramWaiters.size) {
      const waiters = this.paramWaiters;
      this.paramWaiters = new Set();
      for (const w of waiters) w();
    }
    for (const l of this.listeners) l(picture);
  }

  /** The picture's RTP packets, interleaved on `channel` (built once per channel). */
  wire(picture: FeedPicture, channel: number): Buffer {
    let byChannel = this.wires.get(picture);
    if (!byChannel) {
      byChannel = new Map();
      this.wires.set(picture, byChannel);
    }
    let buf = byChannel.get(channel);
    if (!buf) {
      buf = interleavedRtp(
        picture.payloads,
        { ...picture, payloadType: PAYLOAD_TYPE, ssrc: this.ssrc },
        channel,
      );
      byChannel.set(channel, buf);
    }
    return buf;
  }

  /** Pictures from the last keyframe to now. */
  get currentGop(): readonly FeedPicture[] {
    return this.gop;
  }

  /** Resolves true once SPS and PPS are known, false after `timeoutMs`. */
  waitForParameters(timeoutMs: number): Promise<boolean> {
    if (this.sps && this.pps) return Promise.resolve(true);
    return new Promise((resolve) => {
      const onReady = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.paramWaiters.delete(onReady);
        resolve(false);
      }, timeoutMs);
      this.paramWaiters.add(onReady);
    });
  }

  /** Every picture from now on, after the current GOP at once. */
  subscribe(listener: FeedListener): () => void {
    this.listeners.add(listener);
    for (const picture of this.gop) listener(picture);
    return () => {
      this.listeners.delete(listener);
    };
  }
}
