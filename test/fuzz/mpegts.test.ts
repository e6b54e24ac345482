/**
 * MPEG-TS muxing and HLS segmenting (src/protocol/mpegts.ts, src/hls/segmenter.ts): their inputs are
 * access units from a printer or an encoder, with any timestamps. Contracts: the muxer writes whole
 * 188-byte packets with continuity counters in order, and a demuxer gets back every NAL unit and the
 * PTS; the segmenter never throws, holds a bounded number of bytes, and its playlist names only
 * segments and parts it can serve.
 */
import fc from 'fast-check';
import { Segmenter } from '../../src/hls/segmenter';
import { AnnexBParser } from '../../src/protocol/h264';
import { decodePts, TS_PACKET_BYTES, TsMuxer, VIDEO_PID } from '../../src/protocol/mpegts';
import { nal, RUNS } from './chunks';

const au = fc.array(nal([1, 5, 6, 7, 8]), { minLength: 1, maxLength: 4 });

/** PES payloads of the video PID, in order, checking packet structure and continuity on the way. */
function demux(ts: Buffer, cc: Map<number, number>): Buffer[] {
  expect(ts.length % TS_PACKET_BYTES).toBe(0);
  const pes: Buffer[][] = [];
  for (let at = 0; at < ts.length; at += TS_PACKET_BYTES) {
    const p = ts.subarray(at, at + TS_PACKET_BYTES);
    expect(p[0]).toBe(0x47);
    const pid = ((p[1] & 0x1f) << 8) | p[2];
    const counter = p[3] & 0x0f;
    const prev = cc.get(pid);
    if (prev !== undefined) expect(counter).toBe((prev + 1) & 0x0f);
    cc.set(pid, counter);
    if (pid !== VIDEO_PID) continue;
    let off = 4;
    if (p[3] & 0x20) off += 1 + p[4];
    expect(off).toBeLessThanOrEqual(TS_PACKET_BYTES);
    if (p[1] & 0x40) pes.push([]);
    pes.at(-1)?.push(p.subarray(off));
  }
  return pes.map((parts) => Buffer.concat(parts));
}

describe('MPEG-TS muxer', () => {
  test('any access units and PTS: whole packets, counters in order, NAL units and PTS come back', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(au, fc.integer({ min: 0, max: 2 ** 40 }), fc.boolean()), {
          minLength: 1,
          maxLength: 6,
        }),
        (units) => {
          const mux = new TsMuxer();
          const cc = new Map<number, number>();
          demux(mux.tables(), cc);
          for (const [nals, pts, key] of units) {
            const [pes] = demux(mux.accessUnit(nals, pts, key), cc);
            expect(pes.subarray(0, 4)).toEqual(Buffer.from([0, 0, 1, 0xe0]));
            expect(decodePts(pes, 9)).toBe(pts % 2 ** 33);
            const parser = new AnnexBParser();
            const got = [...parser.push(pes.subarray(14)), ...parser.flush()];
            const expected = (nals[0][0] & 0x1f) === 9 ? nals : [Buffer.from([0x09, 0xf0]), ...nals];
            expect(got.map((n) => n.toString('hex'))).toEqual(expected.map((n) => n.toString('hex')));
          }
        },
      ),
      RUNS,
    );
  });
});

describe('HLS segmenter', () => {
  const MAX = 20_000;
  test('any pictures and timestamps: no throw, bounded memory, a playlist that names only what it serves', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.array(
              fc.uint8Array({ minLength: 1, maxLength: 3000 }).map((b) => Buffer.from([0x65, ...b])),
              {
                minLength: 1,
                maxLength: 2,
              },
            ),
            fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.constantFrom(3000, 9000, 90_000)),
            fc.boolean(),
            fc.integer({ min: 0, max: 2000 }),
          ),
          { maxLength: 80 },
        ),
        fc.boolean(),
        (pictures, absolute) => {
          const s = new Segmenter({ targetMs: 200, partTargetMs: 50, maxSegmentBytes: MAX });
          let ts = 0;
          let wall = 1_700_000_000_000;
          for (const [nals, step, key, dt] of pictures) {
            ts = absolute ? step : (ts + step) >>> 0;
            wall += dt;
            s.push(nals, ts, key, wall);
            // Kept segments and parts (twice: whole and in parts), the open one, and one more picture.
            expect(s.bytes).toBeLessThanOrEqual(2 * (5 + 3 + 2) * (MAX + 8000));
          }
          const playlist = s.playlist();
          if (playlist === null) return;
          const lines = playlist.trim().split('\n');
          const seq = Number(/^#EXT-X-MEDIA-SEQUENCE:(\d+)$/m.exec(playlist)?.[1]);
          expect(s.listed[0].seq).toBe(seq);
          for (const l of lines) {
            const part = /URI="seg(\d+)\.(\d+)\.ts"/.exec(l);
            if (part && !l.startsWith('#EXT-X-PRELOAD-HINT'))
              expect(s.part(Number(part[1]), Number(part[2]))).toBeDefined();
            const seg = /^seg(\d+)\.ts$/.exec(l);
            if (seg) expect(s.segment(Number(seg[1]))).toBeDefined();
            const dur = /^#EXTINF:([\d.]+),$/.exec(l);
            if (dur) {
              expect(Number(dur[1])).toBeGreaterThan(0);
              expect(Math.round(Number(dur[1]))).toBeLessThanOrEqual(s.targetDuration);
            }
          }
        },
      ),
      RUNS,
    );
  });
});
