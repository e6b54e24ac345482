/**
 * RTP for one H.264 stream as an RTSP server sends it: every access unit numbered in stream order
 * (continuous sequence numbers, one SSRC) and its packets with their `$`-interleaved framing built
 * once per channel and shared by every viewer. It exists only while the server has a viewer of the
 * stream (created on the first PLAY, disposed with the last viewer), so a printer nobody watches
 * over RTSP costs no packetization.
 */
import { randomBytes } from 'node:crypto';
import type { H264Stream, StreamUnit } from '../../hub/h264-stream';
import { type H264Payload, interleavedRtp, packetizeAccessUnit } from '../../protocol/rtsp/rtp-h264';

export const PAYLOAD_TYPE = 96;

interface Packetized {
  firstSeq: number;
  payloads: H264Payload[];
  wire: Map<number, Buffer>;
}

export class RtpPacketizer {
  readonly ssrc = randomBytes(4).readUInt32BE(0);
  private seq = randomBytes(2).readUInt16BE(0);
  private readonly units = new WeakMap<StreamUnit, Packetized>();
  private readonly onUnit = (unit: StreamUnit) => this.number(unit);
  users = 0;

  constructor(readonly stream: H264Stream) {
    // Units cached before this packetizer existed are numbered first, in order.
    for (const unit of stream.currentGop) this.number(unit);
    stream.on('unit', this.onUnit);
  }

  dispose(): void {
    this.stream.off('unit', this.onUnit);
  }

  private number(unit: StreamUnit): Packetized {
    let p = this.units.get(unit);
    if (!p) {
      const payloads = packetizeAccessUnit(unit.nals);
      p = { firstSeq: this.seq, payloads, wire: new Map() };
      this.seq = (this.seq + payloads.length) & 0xffff;
      this.units.set(unit, p);
    }
    return p;
  }

  /** Sequence number of the unit's first RTP packet. */
  firstSeq(unit: StreamUnit): number {
    return this.number(unit).firstSeq;
  }

  /** The unit's RTP packets, interleaved on `channel`, as one buffer (built once per channel). */
  wire(unit: StreamUnit, channel: number): Buffer {
    const p = this.number(unit);
    let buf = p.wire.get(channel);
    if (!buf) {
      const rtp = {
        payloadType: PAYLOAD_TYPE,
        firstSeq: p.firstSeq,
        timestamp: unit.timestamp,
        ssrc: this.ssrc,
      };
      buf = interleavedRtp(p.payloads, rtp, channel);
      p.wire.set(channel, buf);
    }
    return buf;
  }
}
