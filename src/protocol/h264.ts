/**
 * H.264 elementary stream helpers (ITU-T H.264 Annex B byte streams, NAL unit types). Pure: no I/O.
 */

export const NAL = {
  SLICE: 1,
  IDR: 5,
  SEI: 6,
  SPS: 7,
  PPS: 8,
  AUD: 9,
  STAP_A: 24,
  FU_A: 28,
} as const;

export const nalType = (nal: Buffer): number => nal[0] & 0x1f;

/** A coded picture: its NAL units (no start codes) in decoding order. */
export interface AccessUnit {
  nals: Buffer[];
  /** True when it holds an IDR slice (a decoder can start here). */
  key: boolean;
}

export function isKeyUnit(nals: Buffer[]): boolean {
  return nals.some((n) => nalType(n) === NAL.IDR);
}

/** Most bytes a NAL unit may have before the Annex-B parser drops it (a 4K keyframe is far below). */
export const MAX_NAL_BYTES = 8 * 1024 * 1024;

/**
 * Splits an Annex-B byte stream (00 00 01 / 00 00 00 01 start codes) into NAL units. The last NAL
 * of a chunk is kept until the next start code proves it complete, or `flush()`; one that grows past
 * `maxNalBytes` is dropped and the parser waits for the next start code.
 */
export class AnnexBParser {
  private buf: Buffer = Buffer.alloc(0);
  /** Where to resume searching for a start code (keeps the scan linear across chunks). */
  private scanFrom = 0;
  private started = false;
  /** NAL units dropped for growing past the bound. */
  dropped = 0;

  constructor(private readonly maxNalBytes = MAX_NAL_BYTES) {}

  /** Bytes held: the NAL not yet proven complete. */
  get pendingBytes(): number {
    return this.buf.length;
  }

  push(chunk: Buffer): Buffer[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: Buffer[] = [];
    const buf = this.buf;
    let nalStart = -1;
    let i = this.started ? this.scanFrom : 0;
    if (this.started) nalStart = 0;
    let consumed = 0;
    for (; i + 2 < buf.length; i++) {
      if (buf[i + 2] > 1) {
        i += 2;
        continue;
      }
      if (buf[i] === 0 && buf[i + 1] === 0 && buf[i + 2] === 1) {
        if (nalStart >= 0) {
          let end = i;
          while (end > nalStart && buf[end - 1] === 0) end--; // 4-byte start code / trailing zeros
          if (end > nalStart) out.push(buf.subarray(nalStart, end));
        }
        nalStart = i + 3;
        consumed = nalStart;
        i += 2;
      }
    }
    if (nalStart < 0) {
      // No start code yet: keep at most the last 3 bytes (a start code may straddle chunks).
      this.buf = buf.subarray(Math.max(0, buf.length - 3));
      this.scanFrom = 0;
      return out;
    }
    this.started = true;
    this.buf = buf.subarray(consumed);
    this.scanFrom = Math.max(0, this.buf.length - 3);
    if (this.buf.length > this.maxNalBytes) {
      // No end in sight: drop it, keep the tail (a start code may straddle chunks) and resync.
      this.dropped++;
      this.buf = Buffer.from(this.buf.subarray(this.buf.length - 3));
      this.started = false;
      this.scanFrom = 0;
    }
    // Copy out of the shared chunk so retained NALs do not pin large buffers.
    return out.map((n) => Buffer.from(n));
  }

  /** The pending NAL unit, when the stream ended. */
  flush(): Buffer[] {
    if (!this.started || this.buf.length === 0) return [];
    let end = this.buf.length;
    while (end > 0 && this.buf[end - 1] === 0) end--;
    const nal = Buffer.from(this.buf.subarray(0, end));
    this.buf = Buffer.alloc(0);
    this.scanFrom = 0;
    return nal.length ? [nal] : [];
  }
}

/** first_mb_in_slice == 0: ue(v) of 0 is the single bit '1', so the first payload bit is set. */
function firstSliceOfPicture(nal: Buffer): boolean {
  return nal.length > 1 && (nal[1] & 0x80) !== 0;
}

export const isVcl = (t: number) => t >= 1 && t <= 5;

/** Does `nal` begin a new access unit, after a unit that already holds a slice (H.264 §7.4.1.2.3)? */
export function beginsAccessUnit(nal: Buffer): boolean {
  const t = nalType(nal);
  return (
    t === NAL.AUD || t === NAL.SPS || t === NAL.PPS || t === NAL.SEI || (isVcl(t) && firstSliceOfPicture(nal))
  );
}

/**
 * Groups NAL units from an Annex-B stream into access units (H.264 §7.4.1.2.3): a new one starts
 * at an AUD, SPS, PPS or SEI after a slice, or at a slice whose first_mb_in_slice is 0.
 * An access unit is complete when the next one begins.
 */
export class AccessUnitAssembler {
  private nals: Buffer[] = [];
  private sawVcl = false;

  push(nal: Buffer): AccessUnit | null {
    const t = nalType(nal);
    let done: AccessUnit | null = null;
    if (this.sawVcl && beginsAccessUnit(nal)) done = this.take();
    this.nals.push(nal);
    if (isVcl(t)) this.sawVcl = true;
    return done;
  }

  flush(): AccessUnit | null {
    return this.sawVcl ? this.take() : null;
  }

  private take(): AccessUnit {
    const nals = this.nals;
    this.nals = [];
    this.sawVcl = false;
    return { nals, key: isKeyUnit(nals) };
  }
}

/** Annex-B bytes for a list of NAL units (4-byte start codes). */
export function toAnnexB(nals: Buffer[]): Buffer {
  const parts: Buffer[] = [];
  const sc = Buffer.from([0, 0, 0, 1]);
  for (const n of nals) parts.push(sc, n);
  return Buffer.concat(parts);
}

/** Remove emulation-prevention bytes (00 00 03 → 00 00). */
export function unescapeRbsp(nal: Buffer): Buffer {
  const out = Buffer.allocUnsafe(nal.length);
  let o = 0;
  let zeros = 0;
  for (let i = 0; i < nal.length; i++) {
    const b = nal[i];
    if (zeros >= 2 && b === 3) {
      zeros = 0;
      continue;
    }
    zeros = b === 0 ? zeros + 1 : 0;
    out[o++] = b;
  }
  return out.subarray(0, o);
}

class BitReader {
  private pos = 0;
  constructor(private readonly data: Buffer) {}
  bit(): number {
    const byte = this.data[this.pos >> 3];
    if (byte === undefined) throw new Error('SPS too short');
    const v = (byte >> (7 - (this.pos & 7))) & 1;
    this.pos++;
    return v;
  }
  bits(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 2 + this.bit();
    return v;
  }
  ue(): number {
    let zeros = 0;
    while (this.bit() === 0) if (++zeros > 31) throw new Error('bad Exp-Golomb code');
    return (2 ** zeros - 1 + this.bits(zeros)) >>> 0;
  }
  se(): number {
    const k = this.ue();
    return k % 2 ? (k + 1) / 2 : -k / 2;
  }
}

export interface SpsInfo {
  profileIdc: number;
  constraintFlags: number;
  levelIdc: number;
  width: number;
  height: number;
}

/** Read profile, level and picture size from an SPS NAL unit. */
export function parseSps(sps: Buffer): SpsInfo {
  const r = new BitReader(unescapeRbsp(sps.subarray(1)));
  const profileIdc = r.bits(8);
  const constraintFlags = r.bits(8);
  const levelIdc = r.bits(8);
  r.ue(); // seq_parameter_set_id
  let chromaFormatIdc = 1;
  if ([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135].includes(profileIdc)) {
    chromaFormatIdc = r.ue();
    if (chromaFormatIdc === 3) r.bit();
    r.ue();
    r.ue();
    r.bit();
    if (r.bit()) {
      for (let i = 0; i < (chromaFormatIdc !== 3 ? 8 : 12); i++) {
        if (r.bit()) {
          const size = i < 6 ? 16 : 64;
          let last = 8;
          let next = 8;
          for (let j = 0; j < size; j++) {
            if (next !== 0) next = (last + r.se() + 256) % 256;
            last = next === 0 ? last : next;
          }
        }
      }
    }
  }
  r.ue(); // log2_max_frame_num_minus4
  const pocType = r.ue();
  if (pocType === 0) r.ue();
  else if (pocType === 1) {
    r.bit();
    r.se();
    r.se();
    const n = r.ue();
    for (let i = 0; i < n; i++) r.se();
  }
  r.ue(); // max_num_ref_frames
  r.bit();
  const widthMbs = r.ue() + 1;
  const heightMapUnits = r.ue() + 1;
  const frameMbsOnly = r.bit();
  if (!frameMbsOnly) r.bit();
  r.bit();
  let crop = [0, 0, 0, 0];
  if (r.bit()) crop = [r.ue(), r.ue(), r.ue(), r.ue()];
  const subW = chromaFormatIdc === 1 || chromaFormatIdc === 2 ? 2 : 1;
  const subH = (chromaFormatIdc === 1 ? 2 : 1) * (2 - frameMbsOnly);
  return {
    profileIdc,
    constraintFlags,
    levelIdc,
    width: widthMbs * 16 - subW * (crop[0] + crop[1]),
    height: (2 - frameMbsOnly) * heightMapUnits * 16 - subH * (crop[2] + crop[3]),
  };
}

/** Annex-B bytes in, complete access units out (one picture of delay: a unit ends when the next begins). */
export class AnnexBAccessUnits {
  private readonly parser = new AnnexBParser();
  private readonly assembler = new AccessUnitAssembler();

  push(chunk: Buffer): AccessUnit[] {
    const out: AccessUnit[] = [];
    for (const nal of this.parser.push(chunk)) {
      const unit = this.assembler.push(nal);
      if (unit) out.push(unit);
    }
    return out;
  }
}
