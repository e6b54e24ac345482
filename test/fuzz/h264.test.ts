/**
 * RTP/H.264 depacketizing (src/protocol/rtsp/rtp-h264.ts) and Annex-B parsing (src/protocol/h264.ts).
 * Contracts: decodeRtpPacket returns a packet whose payload lies inside the buffer, or throws
 * RtpParseError; the depacketizer and the Annex-B parser never throw and hold a bounded number of
 * bytes whatever arrives; packetized access units come back as they were, and Annex-B NAL units
 * come back the same however the stream is chunked; parseSps throws an Error or answers.
 */
import fc from 'fast-check';
import { AccessUnitAssembler, AnnexBParser, parseSps, toAnnexB } from '../../src/protocol/h264';
import {
  decodeRtpPacket,
  encodeRtpHeader,
  H264Depacketizer,
  MAX_ACCESS_UNIT_BYTES,
  packetizeAccessUnit,
  type RtpPacket,
  RtpParseError,
} from '../../src/protocol/rtsp/rtp-h264';
import { bytes, cuts, nal, RUNS, splitAt } from './chunks';

const unit = fc.array(nal([1, 5, 6, 7, 8]), { minLength: 1, maxLength: 5 });

describe('RTP packets', () => {
  test('arbitrary bytes: a packet inside the buffer, or RtpParseError', () => {
    fc.assert(
      fc.property(bytes(300), (data) => {
        try {
          const p = decodeRtpPacket(data);
          expect(p.payload.length).toBeLessThanOrEqual(data.length - 12);
          expect(p.payload.buffer).toBe(data.buffer);
        } catch (err) {
          expect(err).toBeInstanceOf(RtpParseError);
        }
      }),
      RUNS,
    );
  });

  test('the header round-trips', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 127 }),
        fc.boolean(),
        fc.integer({ min: 0, max: 0xffff }),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 0, max: 0xffffffff }),
        bytes(50),
        (payloadType, marker, sequence, timestamp, ssrc, payload) => {
          const h = { payloadType, marker, sequence, timestamp, ssrc };
          expect(decodeRtpPacket(Buffer.concat([encodeRtpHeader(h), payload]))).toEqual({ ...h, payload });
        },
      ),
      RUNS,
    );
  });
});

/** RTP packets as a hostile or broken sender might send them: any type, any flags, fragments that never end. */
const packet: fc.Arbitrary<RtpPacket> = fc
  .tuple(
    fc.boolean(),
    fc.integer({ min: 0, max: 0xffff }),
    fc.constantFrom(0, 0, 0, 1000, 2000),
    fc.oneof(
      bytes(1500),
      // FU-A: start/middle/end bits chosen freely
      fc
        .tuple(fc.integer({ min: 0, max: 255 }), bytes(1400))
        .map(([fu, b]) => Buffer.concat([Buffer.from([0x7c, fu]), b])),
      // STAP-A with arbitrary sizes
      bytes(1400).map((b) => Buffer.concat([Buffer.from([0x78]), b])),
      nal([1, 5, 6, 7, 8, 9, 10, 12]),
    ),
  )
  .map(([marker, seqStep, ts, payload]) => ({
    payloadType: 96,
    marker,
    sequence: seqStep,
    timestamp: ts,
    ssrc: 1,
    payload,
  }));

describe('H.264 depacketizer', () => {
  test('arbitrary packets never throw, and what is held stays bounded', () => {
    fc.assert(
      fc.property(fc.array(packet, { maxLength: 200 }), fc.boolean(), (packets, sequential) => {
        const d = new H264Depacketizer(16 * 1024);
        let seq = 0;
        for (const p of packets) {
          const units = d.push(sequential ? { ...p, sequence: seq++ & 0xffff } : p);
          for (const u of units) for (const n of u.nals) expect(n.length).toBeGreaterThan(0);
          expect(d.pendingBytes).toBeLessThanOrEqual(16 * 1024);
        }
      }),
      RUNS,
    );
  });

  test('a sender that never ends a fragment or a picture cannot grow memory (default bound)', () => {
    const d = new H264Depacketizer();
    const fragment = Buffer.concat([Buffer.from([0x7c, 0x05]), Buffer.alloc(1400, 0x11)]); // FU-A middle, IDR
    d.push({
      payloadType: 96,
      marker: false,
      sequence: 0,
      timestamp: 0,
      ssrc: 1,
      payload: Buffer.from([0x7c, 0x85, 1]),
    });
    for (let i = 1; i < 20_000; i++)
      d.push({
        payloadType: 96,
        marker: false,
        sequence: i & 0xffff,
        timestamp: 0,
        ssrc: 1,
        payload: fragment,
      });
    expect(d.pendingBytes).toBeLessThanOrEqual(MAX_ACCESS_UNIT_BYTES + 1500);
    const sei = Buffer.alloc(1400, 0x22);
    sei[0] = 0x06;
    for (let i = 20_000; i < 40_000; i++)
      d.push({ payloadType: 96, marker: false, sequence: i & 0xffff, timestamp: 0, ssrc: 1, payload: sei });
    expect(d.pendingBytes).toBeLessThanOrEqual(MAX_ACCESS_UNIT_BYTES + 1500);
  });

  test('access units packetized at any payload size come back as they were', () => {
    fc.assert(
      fc.property(
        fc.array(unit, { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 20, max: 1400 }),
        (units, max) => {
          const d = new H264Depacketizer();
          const got: Buffer[][] = [];
          let seq = 65_000; // across the 16-bit wrap
          units.forEach((nals, i) => {
            for (const p of packetizeAccessUnit(nals, max)) {
              const packet = decodeRtpPacket(
                Buffer.concat([
                  encodeRtpHeader({
                    payloadType: 96,
                    marker: p.marker,
                    sequence: seq++ & 0xffff,
                    timestamp: i * 3000,
                    ssrc: 7,
                  }),
                  p.payload,
                ]),
              );
              for (const u of d.push(packet)) got.push(u.nals);
            }
          });
          expect(got.flat().map((n) => n.toString('hex'))).toEqual(
            units.flat().map((n) => n.toString('hex')),
          );
          expect(d.packetsLost).toBe(0);
        },
      ),
      RUNS,
    );
  });
});

describe('Annex-B parser', () => {
  test('NAL units come back the same however the stream is chunked', () => {
    fc.assert(
      fc.property(fc.array(nal([1, 5, 6, 7, 8, 9]), { minLength: 1, maxLength: 8 }), cuts, (nals, at) => {
        const p = new AnnexBParser();
        const got = [...splitAt(toAnnexB(nals), at).flatMap((c) => p.push(c)), ...p.flush()];
        expect(got.map((n) => n.toString('hex'))).toEqual(nals.map((n) => n.toString('hex')));
      }),
      RUNS,
    );
  });

  test('arbitrary bytes never throw, and what is held stays bounded', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(bytes(3000), fc.constantFrom(Buffer.from([0, 0, 1]), Buffer.from([0, 0, 0, 1]))), {
          maxLength: 8,
        }),
        cuts,
        (parts, at) => {
          const data = Buffer.concat(parts);
          const p = new AnnexBParser(2048);
          const a = new AccessUnitAssembler();
          for (const c of splitAt(data, at)) {
            for (const n of p.push(c)) a.push(n);
            expect(p.pendingBytes).toBeLessThanOrEqual(2048 + 3);
          }
          for (const n of p.flush()) a.push(n);
          a.flush();
        },
      ),
      RUNS,
    );
  });

  test('parseSps answers or throws an Error for any bytes, quickly', () => {
    fc.assert(
      fc.property(bytes(64), (data) => {
        try {
          const info = parseSps(Buffer.concat([Buffer.from([0x67]), data]));
          expect(Number.isFinite(info.width) && Number.isFinite(info.height)).toBe(true);
        } catch (err) {
          expect(err).toBeInstanceOf(Error);
        }
      }),
      RUNS,
    );
  });
});
