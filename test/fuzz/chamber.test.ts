/**
 * The chamber-image protocol (src/protocol/chamber.ts). Contract: the stream parser returns whole
 * JPEGs or throws ChamberProtocolError (then the connection is dropped); it never holds more than
 * one frame's worth of bytes; chunking never changes the result. The auth packet decoder never
 * throws and returns null or the fields, within 32 characters each.
 */
import fc from 'fast-check';
import {
  AUTH_PACKET_BYTES,
  ChamberFrameParser,
  ChamberProtocolError,
  decodeAuthPacket,
  encodeAuthPacket,
  encodeFrameHeader,
  FRAME_HEADER_BYTES,
} from '../../src/protocol/chamber';
import { bytes, cuts, cutTo, edits, everyBoundary, mutate, RUNS, splitAt } from './chunks';

const MAX = 4096;

/** A JPEG-looking payload (FF D8 ... FF D9) of 4..MAX bytes. */
const jpeg = fc
  .uint8Array({ minLength: 0, maxLength: MAX - 4 })
  .map((body) => Buffer.concat([Buffer.from([0xff, 0xd8]), Buffer.from(body), Buffer.from([0xff, 0xd9])]));
const stream = (frames: Buffer[]) => Buffer.concat(frames.flatMap((f) => [encodeFrameHeader(f.length), f]));

function parseAll(chunks: Buffer[]): Buffer[] {
  const p = new ChamberFrameParser(MAX);
  return chunks.flatMap((c) => p.push(c));
}

describe('chamber frame parser', () => {
  test('arbitrary bytes in arbitrary chunks: whole JPEGs or ChamberProtocolError, bounded buffering', () => {
    fc.assert(
      fc.property(bytes(3 * MAX), cuts, (data, at) => {
        const p = new ChamberFrameParser(MAX);
        try {
          for (const c of splitAt(data, at)) {
            for (const f of p.push(c)) expect(f.length).toBeLessThanOrEqual(MAX);
            expect(p.pendingBytes).toBeLessThan(Math.max(MAX, FRAME_HEADER_BYTES));
          }
        } catch (err) {
          expect(err).toBeInstanceOf(ChamberProtocolError);
        }
      }),
      RUNS,
    );
  });

  test('damaged valid streams in arbitrary chunks: whole JPEGs or ChamberProtocolError, bounded buffering', () => {
    fc.assert(
      fc.property(
        fc.array(jpeg, { minLength: 1, maxLength: 4 }),
        edits,
        cutTo,
        cuts,
        (frames, e, end, at) => {
          const p = new ChamberFrameParser(MAX);
          try {
            for (const c of splitAt(mutate(stream(frames), e, end), at)) {
              for (const f of p.push(c)) expect(f[0] === 0xff && f[1] === 0xd8).toBe(true);
              expect(p.pendingBytes).toBeLessThan(MAX);
            }
          } catch (err) {
            expect(err).toBeInstanceOf(ChamberProtocolError);
          }
        },
      ),
      RUNS,
    );
  });

  test('valid streams in arbitrary chunks give the same frames', () => {
    fc.assert(
      fc.property(fc.array(jpeg, { minLength: 1, maxLength: 6 }), cuts, (frames, at) => {
        const data = stream(frames);
        expect(parseAll(splitAt(data, at))).toEqual(frames);
      }),
      RUNS,
    );
  });

  test('a valid stream split at every byte boundary gives the same frames', () => {
    const frames = [Buffer.from([0xff, 0xd8, 1, 2, 3, 0xff, 0xd9]), Buffer.from([0xff, 0xd8, 0xff, 0xd9])];
    const data = stream(frames);
    for (const [a, b] of everyBoundary(data)) expect(parseAll([a, b])).toEqual(frames);
  });
});

describe('chamber auth packet', () => {
  test('arbitrary bytes: null or two fields of at most 32 characters, never a throw', () => {
    fc.assert(
      fc.property(bytes(200), (data) => {
        const auth = decodeAuthPacket(data);
        if (auth) {
          expect(data.length).toBe(AUTH_PACKET_BYTES);
          expect(auth.user.length).toBeLessThanOrEqual(32);
          expect(auth.accessCode.length).toBeLessThanOrEqual(32);
        }
      }),
      RUNS,
    );
  });

  test('80 bytes with the right header words always decode, whatever the fields hold', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 64, maxLength: 64 }), (fields) => {
        const packet = Buffer.concat([encodeAuthPacket('').subarray(0, 16), Buffer.from(fields)]);
        expect(decodeAuthPacket(packet)).not.toBeNull();
      }),
      RUNS,
    );
  });

  test('what a client encodes is what the server decodes', () => {
    const field = fc.stringMatching(/^[\x21-\x7e]{0,32}$/);
    fc.assert(
      fc.property(field, field, (code, user) => {
        expect(decodeAuthPacket(encodeAuthPacket(code, user))).toEqual({ user, accessCode: code });
      }),
      RUNS,
    );
  });
});
