import { RtspStreamParser, uriPath } from '../../src/protocol/rtsp/message';
import { decodeRtpPacket, interleavedRtp, packetizeAccessUnit } from '../../src/protocol/rtsp/rtp-h264';

describe('uriPath', () => {
  test('the path of absolute and relative request URIs, without query or trailing slash', () => {
    expect(uriPath('rtsps://10.0.0.5:322/streaming/live/1/')).toBe('/streaming/live/1');
    expect(uriPath('rtsp://gw:8554/garage%20p1s?x=1')).toBe('/garage p1s');
    expect(uriPath('/streaming/live/1/track1')).toBe('/streaming/live/1/track1');
    expect(uriPath('*')).toBe('/');
  });
});

describe('interleavedRtp', () => {
  test("an access unit's packets, each behind its $ header, numbered on from firstSeq", () => {
    const idr = Buffer.alloc(3000, 0x22);
    idr[0] = 0x65;
    const sps = Buffer.from([0x67, 0x42, 0xc0, 0x1f]);
    const payloads = packetizeAccessUnit([sps, idr]);
    expect(payloads).toHaveLength(4); // the SPS alone, the IDR in three FU-A fragments
    const wire = interleavedRtp(
      payloads,
      { payloadType: 96, firstSeq: 0xfffe, timestamp: 123456, ssrc: 0xdeadbeef },
      2,
    );
    const frames = new RtspStreamParser().push(wire);
    expect(frames).toHaveLength(payloads.length);
    const packets = frames.map((f) => {
      if (f.kind !== 'interleaved') throw new Error(`not interleaved: ${f.kind}`);
      expect(f.channel).toBe(2);
      return decodeRtpPacket(f.data);
    });
    expect(packets.map((p) => p.sequence)).toEqual([0xfffe, 0xffff, 0, 1]);
    expect(
      packets.every((p) => p.timestamp === 123456 && p.ssrc === 0xdeadbeef && p.payloadType === 96),
    ).toBe(true);
    expect(packets.map((p) => p.marker)).toEqual(payloads.map((_, i) => i === payloads.length - 1));
    expect(packets.map((p) => p.payload)).toEqual(payloads.map((p) => p.payload));
  });
});
