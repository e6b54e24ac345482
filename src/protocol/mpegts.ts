/**
 * A minimal MPEG-TS muxer for one H.264 video stream (ISO/IEC 13818-1), pure and byte-exact: what
 * HLS segments are made of. PAT + PMT at the start of every segment, one PES per access unit with a
 * PTS (no B-frames, so DTS = PTS), PCR and random_access_indicator on keyframes, AUD in front of
 * every access unit as the H.264-in-TS rules ask.
 */

export const TS_PACKET_BYTES = 188;
export const PMT_PID = 0x1000;
export const VIDEO_PID = 0x100;
const STREAM_TYPE_H264 = 0x1b;
const PTS_MODULO = 2 ** 33;
const START_CODE = Buffer.from([0, 0, 0, 1]);
const AUD = Buffer.from([0x09, 0xf0]);

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 24;
    for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** CRC-32/MPEG-2 (no reflection, init 0xFFFFFFFF, no final xor). */
export function crc32Mpeg(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of data) crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ b) & 0xff]) >>> 0;
  return crc >>> 0;
}

/** The 5-byte PTS field with the '0010' prefix (PTS only). */
export function encodePts(pts: number, prefix = 0x2): Buffer {
  const p = pts % PTS_MODULO;
  const high = Math.floor(p / 2 ** 30) & 0x7; // bits 32..30
  const mid = Math.floor(p / 2 ** 15) & 0x7fff; // bits 29..15
  const low = p & 0x7fff; // bits 14..0
  return Buffer.from([
    (prefix << 4) | (high << 1) | 1,
    mid >> 7,
    ((mid & 0x7f) << 1) | 1,
    low >> 7,
    ((low & 0x7f) << 1) | 1,
  ]);
}

/** Reads back a PTS written by encodePts (for tests and the segmenter's own checks). */
export function decodePts(b: Buffer, at = 0): number {
  const high = (b[at] >> 1) & 0x7;
  const mid = (b[at + 1] << 7) | (b[at + 2] >> 1);
  const low = (b[at + 3] << 7) | (b[at + 4] >> 1);
  return high * 2 ** 30 + mid * 2 ** 15 + low;
}

function section(tableId: number, idExt: number, body: Buffer): Buffer {
  // table_id, section_syntax_indicator=1, '0', reserved '11', section_length (12 bits)
  const length = 5 + body.length + 4;
  const head = Buffer.from([
    tableId,
    0xb0 | ((length >> 8) & 0x0f),
    length & 0xff,
    (idExt >> 8) & 0xff,
    idExt & 0xff,
    0xc1, // reserved '11', version 0, current_next_indicator 1
    0x00, // section_number
    0x00, // last_section_number
  ]);
  const withoutCrc = Buffer.concat([head, body]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32Mpeg(withoutCrc));
  return Buffer.concat([withoutCrc, crc]);
}

export function patSection(): Buffer {
  // program 1 → PMT PID
  return section(0x00, 1, Buffer.from([0x00, 0x01, 0xe0 | (PMT_PID >> 8), PMT_PID & 0xff]));
}

export function pmtSection(): Buffer {
  return section(
    0x02,
    1,
    Buffer.from([
      0xe0 | (VIDEO_PID >> 8), // PCR PID
      VIDEO_PID & 0xff,
      0xf0, // program_info_length 0
      0x00,
      STREAM_TYPE_H264,
      0xe0 | (VIDEO_PID >> 8),
      VIDEO_PID & 0xff,
      0xf0, // ES_info_length 0
      0x00,
    ]),
  );
}

interface AdaptationFields {
  pcr?: number;
  randomAccess?: boolean;
}

/** Writes one 188-byte packet; payload must fit (the caller slices). Stuffs with 0xFF when short. */
function writePacket(
  out: Buffer,
  at: number,
  pid: number,
  start: boolean,
  cc: number,
  payload: Buffer,
  af: AdaptationFields | null,
): void {
  const flags = (af?.randomAccess ? 0x40 : 0) | (af?.pcr !== undefined ? 0x10 : 0);
  const fieldBytes = af ? 1 + (af.pcr !== undefined ? 6 : 0) : 0; // flags byte + PCR
  // Adaptation field total size (including its length byte) before stuffing.
  let afSize = af ? 1 + fieldBytes : 0;
  const room = TS_PACKET_BYTES - 4 - afSize;
  if (payload.length > room) throw new Error('mpegts: payload does not fit the packet');
  if (payload.length < room) afSize += room - payload.length; // stuffing
  out[at] = 0x47;
  out[at + 1] = (start ? 0x40 : 0) | ((pid >> 8) & 0x1f);
  out[at + 2] = pid & 0xff;
  out[at + 3] = (afSize > 0 ? 0x30 : 0x10) | (cc & 0x0f);
  let p = at + 4;
  if (afSize > 0) {
    out[p++] = afSize - 1; // adaptation_field_length
    if (afSize > 1) {
      out[p++] = flags;
      if (af?.pcr !== undefined) {
        const base = af.pcr % PTS_MODULO;
        // 33-bit base, 6 reserved bits, 9-bit extension (0)
        out[p++] = Math.floor(base / 2 ** 25) & 0xff;
        out[p++] = Math.floor(base / 2 ** 17) & 0xff;
        out[p++] = Math.floor(base / 2 ** 9) & 0xff;
        out[p++] = Math.floor(base / 2) & 0xff;
        out[p++] = ((base & 1) << 7) | 0x7e;
        out[p++] = 0x00;
      }
      const payloadStart = at + TS_PACKET_BYTES - payload.length;
      out.fill(0xff, p, payloadStart);
      p = payloadStart;
    }
  }
  payload.copy(out, p);
}

/** One muxer per output stream: keeps the continuity counters across segments. */
export class TsMuxer {
  private readonly cc = new Map<number, number>();

  private nextCc(pid: number): number {
    const c = ((this.cc.get(pid) ?? -1) + 1) & 0x0f;
    this.cc.set(pid, c);
    return c;
  }

  /** PAT and PMT packets: the head of every segment, so each one can be decoded alone. */
  tables(): Buffer {
    const out = Buffer.alloc(2 * TS_PACKET_BYTES);
    for (const [i, [pid, sec]] of (
      [
        [0, patSection()],
        [PMT_PID, pmtSection()],
      ] as const
    ).entries()) {
      // pointer_field 0, the section, 0xFF to the end of the packet
      const payload = Buffer.alloc(TS_PACKET_BYTES - 4, 0xff);
      payload[0] = 0;
      sec.copy(payload, 1);
      writePacket(out, i * TS_PACKET_BYTES, pid, true, this.nextCc(pid), payload, null);
    }
    return out;
  }

  /**
   * One access unit (its NAL units without start codes) as TS packets. `pts` is in 90 kHz units
   * (any non-negative number; it is taken modulo 2^33).
   */
  accessUnit(nals: readonly Buffer[], pts: number, key: boolean): Buffer {
    const parts: Buffer[] = [];
    const pesHeader = Buffer.concat([
      Buffer.from([0x00, 0x00, 0x01, 0xe0, 0x00, 0x00, 0x80, 0x80, 0x05]), // length 0: unbounded video PES
      encodePts(pts),
    ]);
    parts.push(pesHeader);
    if (!nals.length || (nals[0][0] & 0x1f) !== 9) parts.push(START_CODE, AUD);
    for (const n of nals) parts.push(START_CODE, n);
    const pes = Buffer.concat(parts);
    const firstRoom = TS_PACKET_BYTES - 4 - (key ? 8 : 0);
    const rest = Math.max(0, pes.length - firstRoom);
    const count = 1 + Math.ceil(rest / (TS_PACKET_BYTES - 4));
    const out = Buffer.alloc(count * TS_PACKET_BYTES);
    let offset = 0;
    for (let i = 0; i < count; i++) {
      const af: AdaptationFields | null = i === 0 && key ? { pcr: pts, randomAccess: true } : null;
      const room = TS_PACKET_BYTES - 4 - (af ? 8 : 0);
      const chunk = pes.subarray(offset, offset + room);
      offset += chunk.length;
      writePacket(out, i * TS_PACKET_BYTES, VIDEO_PID, i === 0, this.nextCc(VIDEO_PID), chunk, af);
    }
    return out;
  }
}
