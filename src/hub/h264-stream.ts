/**
 * The per-printer H.264 fan-out point, twin of the JPEG hub. Sources push access units; the stream
 * keeps SPS/PPS and the current GOP (from the last keyframe), packetizes each access unit once
 * (RFC 6184) and hands the same packets to every subscriber, so a viewer costs one socket write per
 * picture. A new subscriber gets the GOP at once and so starts on a keyframe.
 *
 * It outlives source restarts: `discontinuity()` re-bases timestamps so every viewer sees one
 * continuous RTP timeline across encoder or printer reconnects.
 */

import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { type AccessUnit, NAL, nalType, parseSps, type SpsInfo } from '../protocol/h264';
import { interleavedHeader } from '../protocol/rtsp/message';
import {
  encodeRtpHeader,
  type H264Payload,
  packetizeAccessUnit,
  RTP_HEADER_BYTES,
} from '../protocol/rtsp/rtp-h264';
import { RateMeter } from './rate';

export const PAYLOAD_TYPE = 96;
/** The GOP cache never holds more than this (a source without keyframes cannot grow it forever). */
export const MAX_GOP_BYTES = 8 * 1024 * 1024;
export const MAX_GOP_UNITS = 600;

export interface StreamUnit {
  readonly nals: Buffer[];
  readonly key: boolean;
  /** 90 kHz RTP timestamp on the stream's own continuous timeline. */
  readonly timestamp: number;
  /** Sequence number of its first RTP packet. */
  readonly firstSeq: number;
  readonly payloads: H264Payload[];
  readonly bytes: number;
  readonly receivedAt: number;
}

export interface H264Subscriber {
  /** Called for every unit (GOP first, then live). Must not block; decides itself what to drop. */
  offer(unit: StreamUnit, stream: H264Stream): void;
  /** The stream closed (shutdown). */
  close(reason: string): void;
}

export interface StreamCounters {
  viewers: number;
  delivered: number;
  dropped: number;
  stalled: number;
}

export class H264Stream extends EventEmitter {
  sps: Buffer | null = null;
  pps: Buffer | null = null;
  spsInfo: SpsInfo | null = null;
  unitsIn = 0;
  readonly ssrc = randomBytes(4).readUInt32BE(0);
  private gop: StreamUnit[] = [];
  private gopBytes = 0;
  private seq = randomBytes(2).readUInt16BE(0);
  private offset: number | null = null;
  private lastOut: number | null = null;
  private lastSource: number | null = null;
  /** Median of recent timestamp steps between 120 fps and 0.5 fps: the picture interval. */
  private frameTicks = 3000;
  private steps: number[] = [];
  private wants = 0;
  private readonly subs = new Set<H264Subscriber>();
  private readonly outputs = new Map<string, StreamCounters>();
  private readonly subOutput = new Map<H264Subscriber, string>();
  private readonly rate = new RateMeter();
  private wireCache = new WeakMap<StreamUnit, Map<number, Buffer>>();

  constructor(readonly name: string) {
    super();
    this.setMaxListeners(0);
  }

  /** Parameter sets known before any picture (from SDP sprop-parameter-sets). */
  setParameterSets(sps: Buffer, pps: Buffer): void {
    if (!this.sps?.equals(sps)) {
      this.sps = sps;
      try {
        this.spsInfo = parseSps(sps);
      } catch {
        this.spsInfo = null;
      }
    }
    this.pps = pps;
  }

  /** Forget the cached pictures (their source stopped): new viewers wait for a fresh keyframe. */
  dropGop(): void {
    this.gop = [];
    this.gopBytes = 0;
  }

  /** The next unit re-bases timestamps (a new source run or a new encoder process). */
  discontinuity(): void {
    this.offset = null;
  }

  /** Push one access unit with its source timestamp (90 kHz). */
  push(au: AccessUnit, sourceTs: number, receivedAt = Date.now()): StreamUnit {
    let nals = au.nals;
    for (const n of nals) {
      const t = nalType(n);
      if (t === NAL.SPS && !this.sps?.equals(n)) {
        this.sps = n;
        try {
          this.spsInfo = parseSps(n);
        } catch {
          this.spsInfo = null;
        }
      } else if (t === NAL.PPS && !this.pps?.equals(n)) this.pps = n;
    }
    // A keyframe carries its parameter sets in-band, so any decoder can start on it.
    if (au.key && this.sps && this.pps && !nals.some((n) => nalType(n) === NAL.SPS)) {
      nals = [this.sps, this.pps, ...nals];
    }
    const timestamp = this.mapTimestamp(sourceTs >>> 0);
    const payloads = packetizeAccessUnit(nals);
    const unit: StreamUnit = {
      nals,
      key: au.key,
      timestamp,
      firstSeq: this.seq,
      payloads,
      bytes: payloads.reduce((n, p) => n + p.payload.length + RTP_HEADER_BYTES + 4, 0),
      receivedAt,
    };
    this.seq = (this.seq + payloads.length) & 0xffff;
    this.unitsIn++;
    this.rate.mark(receivedAt);
    if (au.key) {
      this.gop = [];
      this.gopBytes = 0;
    }
    if (this.gop.length > 0 || au.key) {
      if (this.gopBytes + unit.bytes > MAX_GOP_BYTES || this.gop.length >= MAX_GOP_UNITS) {
        this.gop = [];
        this.gopBytes = 0;
      } else {
        this.gop.push(unit);
        this.gopBytes += unit.bytes;
      }
    }
    for (const s of this.subs) s.offer(unit, this);
    this.emit('unit', unit);
    return unit;
  }

  private mapTimestamp(src: number): number {
    if (this.lastSource !== null && this.offset !== null) {
      const delta = (src - this.lastSource) >>> 0;
      // A source that jumps back or more than 10 s ahead is treated as a new timeline.
      if (delta > 10 * 90000) this.offset = null;
      else if (delta >= 750 && delta <= 180000) this.noteStep(delta);
    }
    if (this.offset === null) {
      const next =
        this.lastOut === null ? randomBytes(4).readUInt32BE(0) : (this.lastOut + this.frameTicks) >>> 0;
      this.offset = (next - src) >>> 0;
    }
    this.lastSource = src;
    const out = (src + this.offset) >>> 0;
    this.lastOut = out;
    return out;
  }

  private noteStep(delta: number): void {
    this.steps.push(delta);
    if (this.steps.length > 15) this.steps.shift();
    const sorted = [...this.steps].sort((a, b) => a - b);
    this.frameTicks = sorted[sorted.length >> 1];
  }

  /** The unit's RTP packets, interleaved on `channel`, as one buffer (built once per channel). */
  wire(unit: StreamUnit, channel: number): Buffer {
    let byChannel = this.wireCache.get(unit);
    if (!byChannel) {
      byChannel = new Map();
      this.wireCache.set(unit, byChannel);
    }
    let buf = byChannel.get(channel);
    if (!buf) {
      const parts: Buffer[] = [];
      unit.payloads.forEach((p, i) => {
        const len = RTP_HEADER_BYTES + p.payload.length;
        const head = Buffer.allocUnsafe(4 + RTP_HEADER_BYTES);
        interleavedHeader(channel, len).copy(head, 0);
        encodeRtpHeader(
          {
            payloadType: PAYLOAD_TYPE,
            marker: p.marker,
            sequence: (unit.firstSeq + i) & 0xffff,
            timestamp: unit.timestamp,
            ssrc: this.ssrc,
          },
          head.subarray(4),
        );
        parts.push(head, p.payload);
      });
      buf = Buffer.concat(parts);
      byChannel.set(channel, buf);
    }
    return buf;
  }

  /** Units from the last keyframe to now. */
  get currentGop(): readonly StreamUnit[] {
    return this.gop;
  }

  /** Pictures per second from the source's timestamp steps, or null before two pictures. */
  get nominalFps(): number | null {
    return this.steps.length >= 3 ? Math.round((90000 / this.frameTicks) * 1000) / 1000 : null;
  }

  get hasParameters(): boolean {
    return this.sps !== null && this.pps !== null;
  }

  /** Resolves true once SPS and PPS are known, false after `timeoutMs`. */
  waitForParameters(timeoutMs: number): Promise<boolean> {
    if (this.hasParameters) return Promise.resolve(true);
    return new Promise((resolve) => {
      const onUnit = () => {
        if (!this.hasParameters) return;
        clearTimeout(timer);
        this.off('unit', onUnit);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.off('unit', onUnit);
        resolve(false);
      }, timeoutMs);
      this.on('unit', onUnit);
    });
  }

  /** Somebody wants this stream (a DESCRIBE, a decoder): the worker starts what makes it. */
  want(): () => void {
    this.wants++;
    this.emit('demand', this.wants);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.wants--;
      this.emit('demand', this.wants);
    };
  }

  get demand(): number {
    return this.wants;
  }

  /** Attach a subscriber; it gets the current GOP at once, then every new unit. */
  subscribe(sub: H264Subscriber, output: string): () => void {
    this.subs.add(sub);
    this.subOutput.set(sub, output);
    this.counters(output).viewers++;
    for (const unit of this.gop) sub.offer(unit, this);
    return () => {
      if (!this.subs.delete(sub)) return;
      this.counters(output).viewers--;
      this.subOutput.delete(sub);
    };
  }

  counters(output: string): StreamCounters {
    let c = this.outputs.get(output);
    if (!c) {
      c = { viewers: 0, delivered: 0, dropped: 0, stalled: 0 };
      this.outputs.set(output, c);
    }
    return c;
  }

  outputCounters(): Record<string, StreamCounters> {
    return Object.fromEntries([...this.outputs].map(([k, v]) => [k, { ...v }]));
  }

  fps(): number {
    return this.rate.perSecond();
  }

  close(reason = 'shutting down'): void {
    for (const s of [...this.subs]) s.close(reason);
    this.wireCache = new WeakMap();
  }
}
