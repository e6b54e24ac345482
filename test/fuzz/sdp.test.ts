/**
 * SDP (src/protocol/rtsp/sdp.ts). Contract: parseSdp takes any text and answers (never throws);
 * what buildH264Sdp writes parses back to the same track; parameter sets and control URLs from any
 * text never throw.
 */
import fc from 'fast-check';
import { buildH264Sdp, parseSdp, resolveControl, spropParameterSets } from '../../src/protocol/rtsp/sdp';
import { RUNS } from './chunks';

const line = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.constantFrom(
    'm=video 0 RTP/AVP 96',
    'm=',
    'm=audio',
    'a=control:',
    'a=control:*',
    'a=rtpmap:',
    'a=fmtp:',
  ),
  fc
    .tuple(fc.constantFrom('a=rtpmap:', 'a=fmtp:', 'a=control:', 'm=video '), fc.string({ maxLength: 60 }))
    .map(([a, b]) => a + b),
);

describe('SDP', () => {
  test('any text parses without throwing; media and fmtp are plain data', () => {
    fc.assert(
      fc.property(fc.array(line, { maxLength: 30 }), fc.constantFrom('\r\n', '\n', '\r'), (lines, eol) => {
        const s = parseSdp(lines.join(eol));
        for (const m of s.media) {
          expect(typeof m.codec).toBe('string');
          expect(Object.getPrototypeOf(m.fmtp)).toBe(Object.prototype);
          spropParameterSets(m.fmtp);
          resolveControl('rtsp://h/x/', m.control);
        }
      }),
      RUNS,
    );
  });

  test('what bambucam writes parses back to the same track', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 4, maxLength: 40 }),
        fc.uint8Array({ minLength: 1, maxLength: 10 }),
        fc.integer({ min: 96, max: 127 }),
        fc.stringMatching(/^[A-Za-z0-9=_-]{1,20}$/),
        fc.option(fc.double({ min: 0.1, max: 120, noNaN: true }), { nil: undefined }),
        (sps, pps, payloadType, control, framerate) => {
          const text = buildH264Sdp({
            sps: Buffer.from(sps),
            pps: Buffer.from(pps),
            payloadType,
            control,
            framerate,
          });
          const [m] = parseSdp(text).media;
          expect(m).toMatchObject({ media: 'video', payloadType, codec: 'H264', clockRate: 90000, control });
          expect(spropParameterSets(m.fmtp)).toEqual([Buffer.from(sps), Buffer.from(pps)]);
        },
      ),
      RUNS,
    );
  });
});
