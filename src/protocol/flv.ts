/**
 * FLV (Adobe Flash Video File Format, version 10) as a framing for H.264 on a pipe. Pure: no I/O.
 *
 * Why: the encoder's Annex-B output only shows that a picture is complete when the next one begins,
 * one picture of delay (100 ms at 10 fps) on every chamber printer's live video. An FLV tag says its
 * length first, so each picture is complete the moment its last byte arrives.
 *
 * Layout: a 9-byte file header ("FLV", version, flags, header size), then `PreviousTagSize0` and
 * tags, each an 11-byte header (type, 24-bit data size, timestamp, stream id), its data, and a
 * 4-byte `PreviousTagSize`. A video tag's data: frame type and codec id (7 = AVC) in one byte, the
 * AVC packet type (0: sequence header, an AVCDecoderConfigurationRecord with SPS and PPS; 1: NAL
 * units, each prefixed with its length), a 24-bit composition time, then the payload.
 */
import { type AccessUnit, isKeyUnit, NAL, nalType } from './h264';

/** Largest tag accepted; a larger announced size means the stream is not FLV (or corrupt). */
export const MAX_FLV_TAG_BYTES = 8 * 1024 * 1024;

const TAG_HEADER = 11;
const PREVIOUS_TAG_SIZE = 4;
const VIDEO_TAG = 9;
const CODEC_AVC = 7;

/** Thrown when the bytes are not an FLV stream; the caller restarts its producer. */
export class FlvError extends Error {}

/** SPS and PPS from an AVCDecoderConfigurationRecord (ISO/IEC 14496-15 §5.2.4.1), and the NAL length size. */
export function parseAvcDecoderConfig(record: Buffer): { sps: Buffer[]; pps: Buffer[]; lengthSize: number } {
  if (record.length < 7 || record[0] !== 1) throw new FlvError('not an AVCDecoderConfigurationRecord');
  const lengthSize = (record[4] & 0x03) + 1;
  let off = 5;
  const list = (count: number): Buffer[] => {
    const out: Buffer[] = [];
    for (let i = 0; i < count; i++) {
      if (off + 2 > record.length) throw new FlvError('truncated AVCDecoderConfigurationRecord');
      const len = record.readUInt16BE(off);
      off += 2;
      if (off + len > record.length) throw new FlvError('truncated AVCDecoderConfigurationRecord');
      out.push(record.subarray(off, off + len));
      off += len;
    }
    return out;
  };
  const sps = list(record[off++] & 0x1f);
  if (off >= record.length) throw new FlvError('truncated AVCDecoderConfigurationRecord');
  const pps = list(record[off++]);
  return { sps, pps, lengthSize };
}

/**
 * FLV bytes in, complete H.264 access units out, each as soon as its tag's last byte is in. A key
 * unit without SPS and PPS of its own gets the sequence header's (FLV keeps them out of band), so
 * every consumer can start on any keyframe as with Annex-B.
 */
export class FlvAccessUnits {
  private buf: Buffer = Buffer.alloc(0);
  private headerDone = false;
  private params: Buffer[] = [];
  private lengthSize = 4;

  /** Bytes held for the next tag (at most one tag's worth). */
  get buffered(): number {
    return this.buf.length;
  }

  push(chunk: Buffer): AccessUnit[] {
    const buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: AccessUnit[] = [];
    let off = 0;
    if (!this.headerDone) {
      if (buf.length < 9) {
        this.buf = buf;
        return out;
      }
      if (buf.toString('latin1', 0, 3) !== 'FLV') throw new FlvError('not an FLV stream');
      const headerSize = buf.readUInt32BE(5);
      if (headerSize < 9 || headerSize > 1024) throw new FlvError(`FLV header of ${headerSize} bytes`);
      if (buf.length < headerSize + PREVIOUS_TAG_SIZE) {
        this.buf = buf;
        return out;
      }
      off = headerSize + PREVIOUS_TAG_SIZE;
      this.headerDone = true;
    }
    while (buf.length - off >= TAG_HEADER) {
      const size = buf.readUIntBE(off + 1, 3);
      if (size > MAX_FLV_TAG_BYTES) throw new FlvError(`FLV tag of ${size} bytes`);
      const end = off + TAG_HEADER + size + PREVIOUS_TAG_SIZE;
      if (buf.length < end) break;
      if ((buf[off] & 0x1f) === VIDEO_TAG) {
        const unit = this.video(buf.subarray(off + TAG_HEADER, off + TAG_HEADER + size));
        if (unit) out.push(unit);
      }
      off = end;
    }
    // What is left is the start of the next tag: copied, so the chunk it came from is not kept.
    this.buf = off >= buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(off));
    return out;
  }

  private video(data: Buffer): AccessUnit | null {
    if (data.length < 5 || (data[0] & 0x0f) !== CODEC_AVC) return null;
    const payload = data.subarray(5);
    if (data[1] === 0) {
      const config = parseAvcDecoderConfig(payload);
      this.params = [...config.sps, ...config.pps];
      this.lengthSize = config.lengthSize;
      return null;
    }
    if (data[1] !== 1) return null;
    const nals: Buffer[] = [];
    let off = 0;
    while (off + this.lengthSize <= payload.length) {
      const len = payload.readUIntBE(off, this.lengthSize);
      off += this.lengthSize;
      if (len === 0 || off + len > payload.length) throw new FlvError('NAL unit beyond its FLV tag');
      nals.push(payload.subarray(off, off + len));
      off += len;
    }
    if (nals.length === 0) return null;
    const key = isKeyUnit(nals);
    if (key && !nals.some((n) => nalType(n) === NAL.SPS)) nals.unshift(...this.params);
    return { nals, key };
  }
}
