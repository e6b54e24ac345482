/**
 * RTP (RFC 3550) packets carrying H.264 (RFC 6184): a packetizer (single NAL unit packets and
 * FU-A fragments, marker bit on the last packet of an access unit) and a depacketizer that
 * reassembles access units (single NAL, STAP-A, FU-A). Pure: no I/O.
 */
import { type AccessUnit, beginsAccessUnit, isKeyUnit, isVcl, NAL, nalType } from '../h264';
import { interleavedHeader } from './message';

export const RTP_HEADER_BYTES = 12;
/** Payload size that keeps an RTP packet well inside one TCP segment / typical MTU. */
export const DEFAULT_MAX_PAYLOAD = 1400;
/**
 * Most bytes one access unit may gather (a 4K keyframe is well below): a sender that never sets the
 * marker, never ends a fragment and never changes the timestamp cannot grow memory past this.
 */
export const MAX_ACCESS_UNIT_BYTES = 8 * 1024 * 1024;

export interface RtpHeader {
  payloadType: number;
  marker: boolean;
  sequence: number;
  timestamp: number;
  ssrc: number;
}

export interface RtpPacket extends RtpHeader {
  payload: Buffer;
}

export function encodeRtpHeader(h: RtpHeader, into: Buffer = Buffer.allocUnsafe(RTP_HEADER_BYTES)): Buffer {
  into[0] = 0x80; // version 2, no padding, no extension, no CSRC
  into[1] = (h.marker ? 0x80 : 0) | (h.payloadType & 0x7f);
  into.writeUInt16BE(h.sequence & 0xffff, 2);
  into.writeUInt32BE(h.timestamp >>> 0, 4);
  into.writeUInt32BE(h.ssrc >>> 0, 8);
  return into;
}

export class RtpParseError extends Error {
  override name = 'RtpParseError';
}

export function decodeRtpPacket(buf: Buffer): RtpPacket {
  if (buf.length < RTP_HEADER_BYTES) throw new RtpParseError('RTP packet shorter than its header');
  if (buf[0] >> 6 !== 2) throw new RtpParseError('not RTP version 2');
  const padding = (buf[0] & 0x20) !== 0;
  const extension = (buf[0] & 0x10) !== 0;
  const csrcCount = buf[0] & 0x0f;
  let offset = RTP_HEADER_BYTES + 4 * csrcCount;
  if (extension) {
    if (buf.length < offset + 4) throw new RtpParseError('truncated RTP header extension');
    offset += 4 + 4 * buf.readUInt16BE(offset + 2);
  }
  let end = buf.length;
  if (padding) end -= buf[buf.length - 1];
  if (end < offset) throw new RtpParseError('RTP padding longer than the packet');
  return {
    payloadType: buf[1] & 0x7f,
    marker: (buf[1] & 0x80) !== 0,
    sequence: buf.readUInt16BE(2),
    timestamp: buf.readUInt32BE(4),
    ssrc: buf.readUInt32BE(8),
    payload: buf.subarray(offset, end),
  };
}

/** One RTP payload (without header) and whether it ends the access unit. */
export interface H264Payload {
  payload: Buffer;
  marker: boolean;
}

/**
 * Split one access unit into RTP payloads: a NAL that fits goes alone (single NAL unit packet),
 * a larger one is cut into FU-A fragments (RFC 6184 §5.8).
 */
export function packetizeAccessUnit(nals: Buffer[], maxPayload = DEFAULT_MAX_PAYLOAD): H264Payload[] {
  const out: H264Payload[] = [];
  nals.forEach((nal, index) => {
    const lastNal = index === nals.length - 1;
    if (nal.length <= maxPayload) {
      out.push({ payload: nal, marker: lastNal });
      return;
    }
    const indicator = (nal[0] & 0xe0) | NAL.FU_A;
    const type = nal[0] & 0x1f;
    const chunk = maxPayload - 2;
    for (let pos = 1; pos < nal.length; pos += chunk) {
      const start = pos === 1;
      const end = pos + chunk >= nal.length;
      const fuHeader = (start ? 0x80 : 0) | (end ? 0x40 : 0) | type;
      const piece = nal.subarray(pos, Math.min(nal.length, pos + chunk));
      const payload = Buffer.allocUnsafe(2 + piece.length);
      payload[0] = indicator;
      payload[1] = fuHeader;
      piece.copy(payload, 2);
      out.push({ payload, marker: lastNal && end });
    }
  });
  return out;
}

export interface DepacketizedUnit extends AccessUnit {
  timestamp: number;
  /** Packets were lost inside this access unit or before it (a decoder may show artefacts). */
  lossBefore: boolean;
}

/**
 * Reassembles access units from RTP packets of one H.264 stream. An access unit ends at a packet
 * with the marker bit, or when the timestamp changes (for senders that do not set the marker).
 * A fragment lost mid-NAL drops that NAL; a unit that outgrows `maxUnitBytes` is dropped whole.
 */
export class H264Depacketizer {
  private nals: Buffer[] = [];
  private timestamp: number | null = null;
  private fu: Buffer[] | null = null;
  private lastSeq: number | null = null;
  private loss = false;
  private held = 0;
  packetsLost = 0;
  /** Access units dropped because they grew past the bound. */
  unitsDropped = 0;

  constructor(private readonly maxUnitBytes = MAX_ACCESS_UNIT_BYTES) {}

  /** Bytes held for the access unit being assembled. */
  get pendingBytes(): number {
    return this.held;
  }

  push(pkt: RtpPacket): DepacketizedUnit[] {
    const out: DepacketizedUnit[] = [];
    if (this.lastSeq !== null) {
      const gap = (pkt.sequence - this.lastSeq - 1) & 0xffff;
      if (gap !== 0 && gap < 0x8000) {
        this.packetsLost += gap;
        this.loss = true;
        this.dropFragment();
      }
    }
    this.lastSeq = pkt.sequence;
    if (this.timestamp !== null && pkt.timestamp !== this.timestamp && this.nals.length) {
      out.push(this.take());
    }
    this.timestamp = pkt.timestamp;
    const p = pkt.payload;
    if (p.length === 0) return out;
    const type = p[0] & 0x1f;
    if (type >= 1 && type <= 23) {
      this.add(Buffer.from(p), out);
    } else if (type === NAL.STAP_A) {
      for (let pos = 1; pos + 2 <= p.length; ) {
        const size = p.readUInt16BE(pos);
        pos += 2;
        if (size === 0 || pos + size > p.length) break;
        this.add(Buffer.from(p.subarray(pos, pos + size)), out);
        pos += size;
      }
    } else if (type === NAL.FU_A && p.length > 2) {
      const start = (p[1] & 0x80) !== 0;
      const end = (p[1] & 0x40) !== 0;
      if (start) {
        this.dropFragment();
        this.fu = [Buffer.from([(p[0] & 0xe0) | (p[1] & 0x1f)])];
        this.held += 1;
      }
      if (this.fu) {
        // Copied: a fragment must not pin the whole interleaved chunk it arrived in.
        this.fu.push(Buffer.from(p.subarray(2)));
        this.held += p.length - 2;
        if (end) {
          const whole = Buffer.concat(this.fu);
          this.held -= whole.length;
          this.fu = null;
          this.add(whole, out);
        }
      }
    }
    if (this.held > this.maxUnitBytes) {
      // Never ends: a broken or hostile sender. Drop the picture and start over.
      this.unitsDropped++;
      this.loss = true;
      this.nals = [];
      this.fu = null;
      this.held = 0;
    }
    if (pkt.marker && this.nals.length) out.push(this.take());
    return out;
  }

  /**
   * Add a NAL; a unit that already holds a slice is completed first when this NAL begins a new one,
   * so senders without marker bits and with frozen timestamps (P2S) still give whole pictures.
   */
  private add(nal: Buffer, out: DepacketizedUnit[]): void {
    if (this.nals.some((n) => isVcl(nalType(n))) && beginsAccessUnit(nal)) out.push(this.take());
    this.nals.push(nal);
    this.held += nal.length;
  }

  private dropFragment(): void {
    for (const part of this.fu ?? []) this.held -= part.length;
    this.fu = null;
  }

  private take(): DepacketizedUnit {
    const nals = this.nals;
    this.nals = [];
    for (const n of nals) this.held -= n.length;
    const unit: DepacketizedUnit = {
      nals,
      key: isKeyUnit(nals),
      timestamp: this.timestamp ?? 0,
      lossBefore: this.loss,
    };
    this.loss = false;
    return unit;
  }
}

/**
 * One access unit's RTP packets as an RTSP server sends them over TCP: each behind its `$`
 * interleaved header (RFC 2326 §10.12), numbered from `firstSeq`, in one buffer ready to write.
 */
export function interleavedRtp(
  payloads: H264Payload[],
  rtp: { payloadType: number; firstSeq: number; timestamp: number; ssrc: number },
  channel: number,
): Buffer {
  const parts: Buffer[] = [];
  payloads.forEach((p, i) => {
    const head = Buffer.allocUnsafe(4 + RTP_HEADER_BYTES);
    interleavedHeader(channel, RTP_HEADER_BYTES + p.payload.length).copy(head, 0);
    encodeRtpHeader(
      {
        payloadType: rtp.payloadType,
        marker: p.marker,
        sequence: (rtp.firstSeq + i) & 0xffff,
        timestamp: rtp.timestamp,
        ssrc: rtp.ssrc,
      },
      head.subarray(4),
    );
    parts.push(head, p.payload);
  });
  return Buffer.concat(parts);
}
