import { Segmenter } from '../../src/hls/segmenter';
import {
  crc32Mpeg,
  decodePts,
  encodePts,
  patSection,
  TS_PACKET_BYTES,
  TsMuxer,
  VIDEO_PID,
} from '../../src/protocol/mpegts';

const idr = Buffer.from([0x65, 0x88, 0x84, 0x00, 0x33]);
const sps = Buffer.from([0x67, 0x42, 0xc0, 0x1f]);
const pps = Buffer.from([0x68, 0xce, 0x3c, 0x80]);

describe('MPEG-TS muxer', () => {
  test('CRC-32/MPEG-2 of "123456789" is 0x0376E6E7 and a PAT section carries its own CRC', () => {
    expect(crc32Mpeg(Buffer.from('123456789'))).toBe(0x0376e6e7);
    const pat = patSection();
    // The CRC over a whole section, CRC included, is 0 (how demuxers check it).
    expect(crc32Mpeg(pat)).toBe(0);
  });

  test('PTS round-trips through its 5-byte field, past 2^32 and wrapping at 2^33', () => {
    for (const pts of [0, 1, 90_000, 2 ** 32 + 12345, 2 ** 33 - 1])
      expect(decodePts(encodePts(pts))).toBe(pts);
    expect(decodePts(encodePts(2 ** 33 + 5))).toBe(5);
    expect(encodePts(0)[0] & 0xf1).toBe(0x21); // '0010' prefix and marker bit
  });

  test('an access unit becomes whole 188-byte packets with sync bytes, PUSI first, counters in order', () => {
    const mux = new TsMuxer();
    const big = Buffer.alloc(1000, 0x11);
    big[0] = 0x41;
    const out = mux.accessUnit([big], 90_000, false);
    expect(out.length % TS_PACKET_BYTES).toBe(0);
    const n = out.length / TS_PACKET_BYTES;
    for (let i = 0; i < n; i++) {
      const p = out.subarray(i * TS_PACKET_BYTES);
      expect(p[0]).toBe(0x47);
      expect(((p[1] & 0x1f) << 8) | p[2]).toBe(VIDEO_PID);
      expect(Boolean(p[1] & 0x40)).toBe(i === 0);
      expect(p[3] & 0x0f).toBe(i & 0x0f);
    }
    // PES start code, stream id, PTS, then an AUD and the picture.
    expect([...out.subarray(4, 8)]).toEqual([0, 0, 1, 0xe0]);
    expect(decodePts(out, 4 + 9)).toBe(90_000);
    expect([...out.subarray(4 + 14, 4 + 20)]).toEqual([0, 0, 0, 1, 0x09, 0xf0]);
  });

  test('a keyframe carries PCR and random_access_indicator', () => {
    const out = new TsMuxer().accessUnit([sps, pps, idr], 180_000, true);
    expect(out[3] & 0x30).toBe(0x30);
    expect(out[5] & 0x50).toBe(0x50);
  });
});

describe('HLS segmenter', () => {
  test('cuts on keyframes after the target, starts on a keyframe, keeps a short window', () => {
    const seg = new Segmenter({ targetMs: 1000, listSize: 3, keepAfter: 1 }, 7);
    const t0 = Date.now();
    // 2 pictures before any keyframe are dropped; then 10 fps with a keyframe every 10 pictures.
    seg.push([Buffer.from([0x41, 1])], 0, false, t0);
    seg.push([Buffer.from([0x41, 1])], 9000, false, t0);
    expect(seg.dropped).toBe(2);
    for (let i = 0; i < 60; i++) {
      const key = i % 10 === 0;
      seg.push(key ? [sps, pps, idr] : [Buffer.from([0x41, 2])], (2 + i) * 9000, key, t0 + i * 100);
    }
    expect(seg.count).toBe(4); // 5 closed, window of 3 + 1 kept
    const text = seg.playlist()!;
    expect(text).toContain('#EXT-X-MEDIA-SEQUENCE:9\n');
    expect(text.match(/#EXTINF:1\.000,/g)).toHaveLength(3);
    expect(text).toContain('seg11.ts');
    expect(seg.segment(8)?.data[0]).toBe(0x47);
    expect(seg.segment(7)).toBeUndefined();
  });

  test('LL-HLS: parts of ~300 ms (whole pictures), the first independent, listed for recent segments and the open one', () => {
    const seg = new Segmenter({ targetMs: 1000, partTargetMs: 300 }, 0);
    // 10 fps, keyframe every 10 pictures: parts of 3 pictures (300 ms), the last one 100 ms.
    for (let i = 0; i < 35; i++) {
      const key = i % 10 === 0;
      seg.push(key ? [sps, pps, idr] : [Buffer.from([0x41, 2])], i * 9000, key, 1000 + i * 100);
    }
    const text = seg.playlist()!;
    expect(text).toContain('#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.900\n');
    expect(text).toContain('#EXT-X-PART-INF:PART-TARGET=0.300\n');
    expect(text).toContain('#EXT-X-PART:DURATION=0.300,URI="seg1.0.ts",INDEPENDENT=YES\n');
    expect(text).toContain('#EXT-X-PART:DURATION=0.300,URI="seg1.1.ts"\n');
    expect(text).toContain('#EXT-X-PART:DURATION=0.100,URI="seg1.3.ts"\n#EXTINF:1.000,\nseg1.ts\n');
    // The open segment (seg3, pictures 30..34) has one closed part so far.
    expect(text.trimEnd().split('\n').slice(-2)).toEqual([
      '#EXT-X-PART:DURATION=0.300,URI="seg3.0.ts",INDEPENDENT=YES',
      '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="seg3.1.ts"',
    ]);
    expect(seg.isNextPart(3, 1)).toBe(true);
    expect(seg.isNextPart(3, 2)).toBe(false);
    // A segment is its parts end to end; the first part starts with PAT.
    const s1 = seg.segment(1)!;
    expect(Buffer.concat([0, 1, 2, 3].map((i) => seg.part(1, i)!.data)).equals(s1.data)).toBe(true);
    expect(seg.part(3, 0)!.data[0]).toBe(0x47);
    expect(seg.has(3, 0)).toBe(true);
    expect(seg.has(3, 1)).toBe(false);
    expect(seg.has(2, null)).toBe(true);
    expect(seg.has(3, null)).toBe(false);
    expect(seg.has(4, 0)).toBe(false);
  });

  test('RTP timestamps that wrap around 2^32 keep growing', () => {
    const seg = new Segmenter({ targetMs: 1000 });
    const start = 2 ** 32 - 45_000;
    for (let i = 0; i < 30; i++)
      seg.push([i % 10 === 0 ? idr : Buffer.from([0x41])], (start + i * 9000) >>> 0, i % 10 === 0, i);
    expect(seg.playlist()!.match(/#EXTINF:1\.000,/g)).toHaveLength(2);
  });
});

describe('program date-times', () => {
  test('only grow, even when arrival times fall behind the media clock and re-anchor', () => {
    const sps = Buffer.from('6742c01fda012416ec0440000003004000000f03c60ca8', 'hex');
    const pps = Buffer.from('68ce0fc8', 'hex');
    const idr = Buffer.from([0x65, 0x88, 1, 2]);
    const seg = new Segmenter({ targetMs: 1000 }, 0);
    const starts: number[] = [];
    const t0 = 1_700_000_000_000;
    // One keyframe a second on the media clock; arrivals lag by 1.5 s at picture 3, then catch up at once
    // (ffmpeg starved for a moment, then flushing its queue).
    const arrivals = [0, 1000, 2000, 4500, 4510, 4520, 6000, 7000];
    arrivals.forEach((arrival, i) => {
      const { segment } = seg.push([sps, pps, idr], i * 90_000, true, t0 + arrival);
      if (segment) starts.push(segment.startedAt);
    });
    expect(starts.length).toBeGreaterThanOrEqual(6);
    for (let i = 1; i < starts.length; i++) expect(starts[i]).toBeGreaterThan(starts[i - 1]);
  });
});
