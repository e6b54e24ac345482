/**
 * FLV bytes as ffmpeg's FLV muxer writes them for x264 with a global header: the file header, a
 * script tag, the AVC sequence header (SPS and PPS only there), then one video tag per picture with
 * length-prefixed NAL units. For the FLV parser's tests.
 */
export const FLV_HEADER = Buffer.from([0x46, 0x4c, 0x56, 1, 1, 0, 0, 0, 9, 0, 0, 0, 0]);

export function flvTag(type: number, data: Buffer): Buffer {
  const head = Buffer.alloc(11);
  head[0] = type;
  head.writeUIntBE(data.length, 1, 3);
  const prev = Buffer.alloc(4);
  prev.writeUInt32BE(11 + data.length);
  return Buffer.concat([head, data, prev]);
}

export function avcDecoderConfig(sps: Buffer, pps: Buffer): Buffer {
  const len = (b: Buffer) => {
    const out = Buffer.alloc(2);
    out.writeUInt16BE(b.length);
    return out;
  };
  return Buffer.concat([
    Buffer.from([1, sps[1], sps[2], sps[3], 0xff, 0xe1]),
    len(sps),
    sps,
    Buffer.from([1]),
    len(pps),
    pps,
  ]);
}

/** A video tag: packet type 0 (sequence header) or 1 (NAL units, each with a 4-byte length). */
export function flvVideo(packetType: 0 | 1, key: boolean, payload: Buffer): Buffer {
  return flvTag(9, Buffer.concat([Buffer.from([(key ? 0x10 : 0x20) | 7, packetType, 0, 0, 0]), payload]));
}

export function lengthPrefixed(nals: Buffer[]): Buffer {
  return Buffer.concat(
    nals.flatMap((n) => {
      const len = Buffer.alloc(4);
      len.writeUInt32BE(n.length);
      return [len, n];
    }),
  );
}

export function flvStream(sps: Buffer, pps: Buffer, pictures: { key: boolean; nals: Buffer[] }[]): Buffer {
  return Buffer.concat([
    FLV_HEADER,
    flvTag(18, Buffer.from('onMetaData')),
    flvVideo(0, true, avcDecoderConfig(sps, pps)),
    ...pictures.map((p) => flvVideo(1, p.key, lengthPrefixed(p.nals))),
  ]);
}
