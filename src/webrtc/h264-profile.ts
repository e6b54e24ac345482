/**
 * H.264 profile-level-id (RFC 6184 §8.1): which profile a 6-hex-digit id names, with the same
 * table browsers use to match offered and answered H.264 codecs (profile_idc plus the constraint
 * flags byte, profile_iop). Pure.
 */

export type H264Profile =
  | 'constrained-baseline'
  | 'baseline'
  | 'main'
  | 'constrained-high'
  | 'high'
  | 'high-444'
  | 'unknown';

/** [profile_idc, iop mask, iop value, profile]: iop bits where the mask is 1 must equal the value. */
const PATTERNS: [number, number, number, H264Profile][] = [
  [0x42, 0b0100_1111, 0b0100_0000, 'constrained-baseline'],
  [0x4d, 0b1000_1111, 0b1000_0000, 'constrained-baseline'],
  [0x58, 0b1100_1111, 0b1100_0000, 'constrained-baseline'],
  [0x42, 0b0100_1111, 0b0000_0000, 'baseline'],
  [0x58, 0b1100_1111, 0b1000_0000, 'baseline'],
  [0x4d, 0b1010_1111, 0b0000_0000, 'main'],
  [0x64, 0b1111_1111, 0b0000_1100, 'constrained-high'],
  [0x64, 0b1111_1111, 0b0000_0000, 'high'],
  [0xf4, 0b1111_1111, 0b0000_0000, 'high-444'],
];

/** The profile a profile-level-id names ('unknown' when it is malformed or not in the table). */
export function h264Profile(profileLevelId: string): H264Profile {
  if (!/^[0-9a-f]{6}$/i.test(profileLevelId)) return 'unknown';
  const idc = Number.parseInt(profileLevelId.slice(0, 2), 16);
  const iop = Number.parseInt(profileLevelId.slice(2, 4), 16);
  for (const [pIdc, mask, value, profile] of PATTERNS) {
    if (idc === pIdc && (iop & mask) === value) return profile;
  }
  return 'unknown';
}

/** profile-level-id of a stream from its SPS NAL unit (header byte first): profile_idc, flags, level_idc. */
export function profileLevelIdOfSps(sps: Buffer): string {
  return sps.subarray(1, 4).toString('hex');
}

/**
 * Offered profiles a decoder for that profile can play a `stream` profile on, best first. A
 * Constrained Baseline stream is also valid Baseline, Main and High; the others need their own.
 */
export function acceptableProfiles(stream: H264Profile): H264Profile[] {
  switch (stream) {
    case 'constrained-baseline':
      return ['constrained-baseline', 'baseline', 'main', 'constrained-high', 'high'];
    case 'baseline':
      return ['baseline'];
    case 'main':
      return ['main', 'high'];
    case 'constrained-high':
      return ['constrained-high', 'high'];
    default:
      return [stream];
  }
}
