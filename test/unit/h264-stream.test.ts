import { H264Stream, type StreamUnit } from '../../src/hub/h264-stream';
import { NAL, nalType } from '../../src/protocol/h264';
import { RtpPacketizer } from '../../src/serve/rtsp/rtp-packetizer';

const SPS = Buffer.from('6742c01fda012416ec0440000003004000000f03c60ca8', 'hex');
const PPS = Buffer.from('68ce0fc8', 'hex');
const idr = () => Buffer.from([0x65, 0x88, 1, 2]);
const p = () => Buffer.from([0x41, 0x9a, 3, 4]);

describe('H264Stream', () => {
  test('keeps the GOP from the last keyframe and SPS/PPS; keyframes carry parameter sets in-band', () => {
    const s = new H264Stream('t');
    s.setParameterSets(SPS, PPS);
    expect(s.spsInfo).toMatchObject({ width: 1168, height: 720 });
    s.push({ nals: [p()], key: false }, 0); // before any keyframe: not cached
    expect(s.currentGop).toHaveLength(0);
    s.push({ nals: [idr()], key: true }, 3000);
    s.push({ nals: [p()], key: false }, 6000);
    expect(s.currentGop.map((u) => u.key)).toEqual([true, false]);
    expect(s.currentGop[0].nals.map(nalType)).toEqual([NAL.SPS, NAL.PPS, NAL.IDR]);
    s.push({ nals: [SPS, PPS, idr()], key: true }, 9000);
    expect(s.currentGop).toHaveLength(1);
  });

  test('one continuous RTP timeline and sequence across source restarts', () => {
    const s = new H264Stream('t');
    const units: StreamUnit[] = [];
    // RTP is the RTSP output's: its packetizer numbers every unit of the stream, in order.
    const rtp = new RtpPacketizer(s);
    s.subscribe(
      {
        send: (u, done) => {
          units.push(u);
          done();
        },
        close: () => {},
      },
      { output: 'x' },
    );
    const packets = (u: StreamUnit) => {
      let n = 0;
      for (let wire = rtp.wire(u, 0); wire.length > 0; n++) wire = wire.subarray(4 + wire.readUInt16BE(2));
      return n;
    };
    s.push({ nals: [SPS, PPS, idr()], key: true }, 1000);
    s.push({ nals: [p()], key: false }, 4000);
    s.discontinuity(); // e.g. the encoder restarted and counts from 0 again
    s.push({ nals: [SPS, PPS, idr()], key: true }, 0);
    s.push({ nals: [p()], key: false }, 3000);
    const ts = units.map((u) => u.timestamp);
    for (let i = 1; i < ts.length; i++) expect((ts[i] - ts[i - 1]) >>> 0).toBe(3000);
    for (let i = 1; i < units.length; i++) {
      expect(rtp.firstSeq(units[i])).toBe((rtp.firstSeq(units[i - 1]) + packets(units[i - 1])) & 0xffff);
    }
    // One wire buffer per unit per channel, shared by every viewer.
    expect(rtp.wire(units[0], 0)).toBe(rtp.wire(units[0], 0));
    expect(rtp.wire(units[0], 0)[0]).toBe(0x24);
    expect(rtp.wire(units[0], 2)[1]).toBe(2);
  });

  test('a timestamp jump of more than 10 s is a new timeline, frozen timestamps stay frozen', () => {
    const s = new H264Stream('t');
    const a = s.push({ nals: [idr()], key: true }, 0);
    const b = s.push({ nals: [p()], key: false }, 3000);
    const c = s.push({ nals: [p()], key: false }, 3000 + 90000 * 60);
    expect((b.timestamp - a.timestamp) >>> 0).toBe(3000);
    expect((c.timestamp - b.timestamp) >>> 0).toBe(3000);
    const d = s.push({ nals: [p()], key: false }, 3000 + 90000 * 60);
    expect(d.timestamp).toBe(c.timestamp);
  });

  test('the picture rate comes from the median timestamp step, ignoring bursts', () => {
    const s = new H264Stream('t');
    let ts = 0;
    for (let i = 0; i < 12; i++) {
      ts += i % 4 === 3 ? 1 : 3000; // a burst now and then: steps of one tick
      s.push({ nals: [i === 0 ? idr() : p()], key: i === 0 }, ts);
    }
    expect(s.nominalFps).toBe(30);
  });

  test('want() counts demand and emits it', () => {
    const s = new H264Stream('t');
    const seen: number[] = [];
    s.on('demand', (n: number) => seen.push(n));
    const r1 = s.want();
    const r2 = s.want();
    r1();
    r1(); // releasing twice counts once
    r2();
    expect(seen).toEqual([1, 2, 1, 0]);
  });
});
