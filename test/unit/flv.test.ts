import { FlvAccessUnits, FlvError, parseAvcDecoderConfig } from '../../src/protocol/flv';
import { NAL } from '../../src/protocol/h264';
import { avcDecoderConfig, FLV_HEADER, flvStream, flvVideo, lengthPrefixed } from '../flv-writer';

const SPS = Buffer.from([0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01, 0x40, 0x16, 0xe8]);
const PPS = Buffer.from([0x68, 0xce, 0x3c, 0x80]);
const SEI = Buffer.from([0x06, 0x05, 0x01, 0x00, 0x80]);
const IDR = Buffer.concat([Buffer.from([0x65, 0x88, 0x84]), Buffer.alloc(5000, 0x5a)]);
const P = (n: number) => Buffer.from([0x41, 0x9a, n, 0x00, 0x01, 0x02]);

const stream = () =>
  flvStream(SPS, PPS, [
    { key: true, nals: [SEI, IDR] },
    { key: false, nals: [P(1)] },
    { key: false, nals: [P(2)] },
  ]);

describe('FLV access units', () => {
  test('the AVCDecoderConfigurationRecord gives SPS, PPS and the length size', () => {
    expect(parseAvcDecoderConfig(avcDecoderConfig(SPS, PPS))).toEqual({
      sps: [SPS],
      pps: [PPS],
      lengthSize: 4,
    });
    expect(() => parseAvcDecoderConfig(Buffer.from([1, 2, 3]))).toThrow(FlvError);
  });

  test('each picture comes out as soon as its tag is complete; keyframes carry SPS and PPS', () => {
    const flv = new FlvAccessUnits();
    const units = flv.push(stream());
    expect(units.map((u) => [u.key, u.nals.map((n) => n[0] & 0x1f)])).toEqual([
      [true, [NAL.SPS, NAL.PPS, NAL.SEI, NAL.IDR]],
      [false, [NAL.SLICE]],
      [false, [NAL.SLICE]],
    ]);
    expect(units[0].nals[3].equals(IDR)).toBe(true);
    // The last picture is out with its own last byte: nothing waits for the next one.
    const last = flvVideo(1, false, lengthPrefixed([P(3)]));
    expect(flv.push(last.subarray(0, last.length - 5))).toEqual([]);
    expect(flv.buffered).toBe(last.length - 5);
    expect(flv.push(last.subarray(last.length - 5))).toHaveLength(1);
    expect(flv.buffered).toBe(0);
  });

  test('split anywhere (every byte of the headers, every 97th after), the same pictures', () => {
    const bytes = stream();
    const whole = new FlvAccessUnits().push(bytes);
    const cuts = [...Array.from({ length: 120 }, (_, i) => i + 1)];
    for (let cut = 121; cut < bytes.length; cut += 97) cuts.push(cut);
    for (const cut of cuts) {
      const flv = new FlvAccessUnits();
      const units = [...flv.push(bytes.subarray(0, cut)), ...flv.push(bytes.subarray(cut))];
      expect(units).toEqual(whole);
    }
  });

  test('bytes that are not FLV, or a NAL unit beyond its tag, throw FlvError', () => {
    expect(() => new FlvAccessUnits().push(Buffer.from('\x00\x00\x00\x01gB'.padEnd(20, 'x')))).toThrow(
      FlvError,
    );
    const bad = lengthPrefixed([P(1)]);
    bad.writeUInt32BE(999, 0);
    expect(() => new FlvAccessUnits().push(Buffer.concat([FLV_HEADER, flvVideo(1, false, bad)]))).toThrow(
      FlvError,
    );
  });
});
