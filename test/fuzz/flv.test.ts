/**
 * The FLV parser (src/protocol/flv.ts) reads the encoder's output. Contracts: arbitrary or damaged
 * bytes in arbitrary chunks throw nothing but FlvError and never buffer more than one tag; a valid
 * stream split anywhere gives the same pictures as in one piece, every keyframe with SPS and PPS.
 */
import fc from 'fast-check';
import { FlvAccessUnits, FlvError, MAX_FLV_TAG_BYTES } from '../../src/protocol/flv';
import { NAL, nalType } from '../../src/protocol/h264';
import { flvStream } from '../flv-writer';
import { bytes, cuts, cutTo, edits, mutate, nal, RUNS, splitAt } from './chunks';

const picture = fc
  .tuple(fc.boolean(), fc.array(nal([1, 6]), { minLength: 1, maxLength: 3 }))
  .map(([key, nals]) => ({
    key,
    nals: key ? [...nals, Buffer.from([0x65, 0x88, 0x80])] : nals,
  }));
const stream = fc
  .tuple(nal([7]), nal([8]), fc.array(picture, { maxLength: 5 }))
  .map(([sps, pps, pictures]) => ({ sps, pps, pictures, bytes: flvStream(sps, pps, pictures) }));

/** Push every chunk; true when it ended with FlvError (anything else thrown fails the property). */
function feed(flv: FlvAccessUnits, chunks: Buffer[]): boolean {
  try {
    for (const c of chunks) {
      flv.push(c);
      expect(flv.buffered).toBeLessThanOrEqual(MAX_FLV_TAG_BYTES + 15 + c.length);
    }
    return false;
  } catch (err) {
    if (err instanceof FlvError) return true;
    throw err;
  }
}

describe('FLV parser', () => {
  test('arbitrary bytes, arbitrary chunks: only FlvError, bounded buffer', () => {
    fc.assert(
      fc.property(bytes(), cuts, fc.boolean(), (b, at, withHeader) => {
        const input = withHeader
          ? Buffer.concat([Buffer.from('FLV\x01\x01\x00\x00\x00\x09\x00\x00\x00\x00', 'latin1'), b])
          : b;
        feed(new FlvAccessUnits(), splitAt(input, at));
      }),
      RUNS,
    );
  });

  test('a valid stream split anywhere: the same pictures, keyframes with SPS and PPS first', () => {
    fc.assert(
      fc.property(stream, cuts, (s, at) => {
        const flv = new FlvAccessUnits();
        const units = splitAt(s.bytes, at).flatMap((c) => flv.push(c));
        expect(units).toHaveLength(s.pictures.length);
        units.forEach((u, i) => {
          expect(u.key).toBe(s.pictures[i].key);
          const expected = u.key ? [s.sps, s.pps, ...s.pictures[i].nals] : s.pictures[i].nals;
          expect(u.nals).toEqual(expected);
          if (u.key) expect(nalType(u.nals[0])).toBe(NAL.SPS);
        });
        expect(flv.buffered).toBe(0);
      }),
      RUNS,
    );
  });

  test('a damaged stream: only FlvError', () => {
    fc.assert(
      fc.property(stream, edits, cutTo, cuts, (s, e, to, at) => {
        feed(new FlvAccessUnits(), splitAt(mutate(s.bytes, e, to), at));
      }),
      RUNS,
    );
  });
});
