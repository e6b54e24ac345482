import { spawnSync } from 'node:child_process';
import { AccessUnitAssembler, AnnexBParser, NAL, nalType, parseSps, toAnnexB } from '../../src/protocol/h264';
import {
  authorizationFor,
  basicAuthorization,
  digestAuthorization,
  parseChallenge,
  verifyAuthorization,
} from '../../src/protocol/rtsp/auth';
import {
  interleavedHeader,
  parseSessionHeader,
  parseTransports,
  RtspParseError,
  RtspStreamParser,
  serializeRequest,
  serializeResponse,
} from '../../src/protocol/rtsp/message';
import {
  decodeRtpPacket,
  encodeRtpHeader,
  H264Depacketizer,
  packetizeAccessUnit,
} from '../../src/protocol/rtsp/rtp-h264';
import { buildH264Sdp, parseSdp, resolveControl, spropParameterSets } from '../../src/protocol/rtsp/sdp';

// SPS/PPS as libx264 writes them for 1168x720 Constrained Baseline level 3.1 (the X1C's format).
const SPS = Buffer.from('6742c01fda012416ec044000000300400000 0f03c60ca8'.replace(/ /g, ''), 'hex');
const PPS = Buffer.from('68ce0fc8', 'hex');

describe('RTSP messages', () => {
  test('parses a request split across chunks, then an interleaved frame, then a response', () => {
    const parser = new RtspStreamParser();
    const req = Buffer.from('OPTIONS rtsp://h/x RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: t\r\n\r\n');
    expect(parser.push(req.subarray(0, 10))).toEqual([]);
    const [msg] = parser.push(req.subarray(10));
    expect(msg).toMatchObject({ kind: 'request', method: 'OPTIONS', uri: 'rtsp://h/x' });
    expect(msg.kind === 'request' && msg.headers.cseq).toBe('1');

    const frame = Buffer.concat([interleavedHeader(0, 3), Buffer.from([1, 2, 3])]);
    const resp = serializeResponse(200, { CSeq: 2 }, Buffer.from('v=0\r\n'));
    const out = parser.push(Buffer.concat([frame, resp]));
    expect(out[0]).toEqual({ kind: 'interleaved', channel: 0, data: Buffer.from([1, 2, 3]) });
    expect(out[1]).toMatchObject({ kind: 'response', status: 200, reason: 'OK' });
    expect(out[1].kind === 'response' && out[1].body.toString()).toBe('v=0\r\n');
  });

  test('waits for the whole body and the whole interleaved frame', () => {
    const parser = new RtspStreamParser();
    const bytes = serializeRequest('ANNOUNCE', 'rtsp://h/x', { CSeq: 3 }, Buffer.from('abcdef'));
    expect(parser.push(bytes.subarray(0, bytes.length - 2))).toEqual([]);
    expect(parser.push(bytes.subarray(bytes.length - 2))[0]).toMatchObject({ method: 'ANNOUNCE' });
    expect(parser.push(Buffer.from([0x24, 1, 0, 5, 9]))).toEqual([]);
    expect(parser.push(Buffer.from([9, 9, 9, 9]))[0]).toMatchObject({ channel: 1 });
  });

  test('rejects garbage and endless headers', () => {
    expect(() => new RtspStreamParser().push(Buffer.from('GET / HTTP/1.1\r\n\r\n'))).toThrow(RtspParseError);
    expect(() => new RtspStreamParser().push(Buffer.alloc(20_000, 0x41))).toThrow(/too long/);
    expect(() =>
      new RtspStreamParser().push(Buffer.from('OPTIONS * RTSP/1.0\r\nContent-Length: x\r\n\r\n')),
    ).toThrow(/Content-Length/);
  });

  test('serializes with CRLF and Content-Length', () => {
    const bytes = serializeRequest('DESCRIBE', 'rtsp://h/x', { CSeq: 2, Accept: 'application/sdp' });
    expect(bytes.toString()).toBe(
      'DESCRIBE rtsp://h/x RTSP/1.0\r\nCSeq: 2\r\nAccept: application/sdp\r\n\r\n',
    );
    expect(serializeResponse(461, { CSeq: 4 }).toString()).toBe(
      'RTSP/1.0 461 Unsupported Transport\r\nCSeq: 4\r\n\r\n',
    );
  });

  test('header values with CR, LF or NUL and names that are not tokens are never serialized', () => {
    const text = serializeResponse(200, {
      CSeq: '1\rInjected: yes',
      'X-Ok': 'fine\tvalue',
      'Bad Name': 'x',
      Location: 'a\r\nSet-Cookie: y',
      Nul: 'a\0b',
      Public: ['OPTIONS', 'PLAY\n'],
    }).toString('latin1');
    expect(text).toBe('RTSP/1.0 200 OK\r\nX-Ok: fine\tvalue\r\nPublic: OPTIONS\r\n\r\n');
  });

  test('Transport and Session headers', () => {
    expect(parseTransports('RTP/AVP/TCP;unicast;interleaved=0-1')[0]).toMatchObject({
      lower: 'tcp',
      interleaved: [0, 1],
    });
    const udp = parseTransports('RTP/AVP;unicast;client_port=5000-5001,RTP/AVP/TCP;interleaved=2');
    expect(udp[0].lower).toBe('udp');
    expect(udp[1].interleaved).toEqual([2, 3]);
    expect(parseSessionHeader('ABCDEF01;timeout=10')).toEqual({ id: 'ABCDEF01', timeoutS: 10 });
    expect(parseSessionHeader('77')).toEqual({ id: '77', timeoutS: null });
  });
});

describe('RTSP authentication', () => {
  test('Digest without qop matches RFC 2617 arithmetic (LIVE555 style)', () => {
    const challenge = parseChallenge(
      'Digest realm="LIVE555 Streaming Media", nonce="0123456789abcdef0123456789abcdef"',
    )!;
    expect(challenge).toMatchObject({ scheme: 'digest', realm: 'LIVE555 Streaming Media' });
    const header = digestAuthorization({
      username: 'bblp',
      password: '12345678',
      method: 'DESCRIBE',
      uri: 'rtsps://10.0.0.5:322/streaming/live/1',
      challenge,
    });
    // md5(md5("bblp:LIVE555 Streaming Media:12345678"):nonce:md5("DESCRIBE:uri")), computed independently.
    expect(header).toContain('response="');
    expect(header).not.toContain('qop');
    const opts = { realm: challenge.realm, nonce: challenge.nonce!, allowBasic: false };
    const users = [{ username: 'bblp', password: '12345678' }];
    expect(verifyAuthorization(header, 'DESCRIBE', users, opts)).toBe('bblp');
    expect(verifyAuthorization(header, 'SETUP', users, opts)).toBeNull();
    expect(
      verifyAuthorization(header, 'DESCRIBE', [{ username: 'bblp', password: 'other' }], opts),
    ).toBeNull();
    expect(verifyAuthorization(header, 'DESCRIBE', users, { ...opts, nonce: 'stale' })).toBeNull();
  });

  test('Digest with qop=auth and a known vector', () => {
    // RFC 2617 §3.5 example.
    const challenge = parseChallenge(
      'Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"',
    )!;
    const header = digestAuthorization({
      username: 'Mufasa',
      password: 'Circle Of Life',
      method: 'GET',
      uri: '/dir/index.html',
      challenge,
      nc: 1,
      cnonce: '0a4f113b',
    });
    expect(header).toContain('response="6629fae49393a05397450978507c4ef1"');
    expect(header).toContain('opaque="5ccc069c403ebaf9f0171e9517f40e41"');
  });

  test('Basic only when allowed', () => {
    const users = [{ username: 'ha', password: 'secret' }];
    const h = basicAuthorization('ha', 'secret');
    expect(h).toBe('Basic aGE6c2VjcmV0');
    const opts = { realm: 'r', nonce: 'n', allowBasic: true };
    expect(verifyAuthorization(h, 'PLAY', users, opts)).toBe('ha');
    expect(verifyAuthorization(h, 'PLAY', users, { ...opts, allowBasic: false })).toBeNull();
    expect(verifyAuthorization(basicAuthorization('ha', 'nope'), 'PLAY', users, opts)).toBeNull();
    expect(authorizationFor({ scheme: 'basic', realm: 'r' }, 'ha', 'secret', 'X', 'u')).toBe(h);
  });
});

describe('SDP', () => {
  test('builds the LIVE555-like H.264 description and parses it back', () => {
    const sdp = buildH264Sdp({ sps: SPS, pps: PPS, control: 'track1' });
    expect(sdp).toContain('m=video 0 RTP/AVP 96\r\n');
    expect(sdp).toContain('a=rtpmap:96 H264/90000\r\n');
    expect(sdp).toContain('profile-level-id=42C01F;');
    const parsed = parseSdp(sdp);
    expect(parsed.control).toBe('*');
    expect(parsed.media[0]).toMatchObject({
      media: 'video',
      payloadType: 96,
      codec: 'H264',
      clockRate: 90000,
    });
    expect(parsed.media[0].control).toBe('track1');
    expect(spropParameterSets(parsed.media[0].fmtp)).toEqual([SPS, PPS]);
  });

  test('resolves controls against Content-Base', () => {
    expect(resolveControl('rtsps://10.0.0.5/streaming/live/1/', 'track1')).toBe(
      'rtsps://10.0.0.5/streaming/live/1/track1',
    );
    expect(resolveControl('rtsp://h/x', 'trackID=0')).toBe('rtsp://h/x/trackID=0');
    expect(resolveControl('rtsp://h/x', 'rtsp://o/y')).toBe('rtsp://o/y');
    expect(resolveControl('rtsp://h/x', '*')).toBe('rtsp://h/x');
  });
});

describe('H.264', () => {
  test('SPS gives the picture size and profile', () => {
    expect(parseSps(SPS)).toMatchObject({ profileIdc: 66, levelIdc: 31, width: 1168, height: 720 });
  });

  test('Annex-B parser finds NAL units across any chunking, with 3- and 4-byte start codes', () => {
    const nals = [SPS, PPS, Buffer.from([0x65, 0x88, 0, 0, 3, 1, 0xff]), Buffer.from([0x41, 0x9a, 0x22])];
    const stream = Buffer.concat([
      Buffer.from([0, 0, 0, 1]),
      nals[0],
      Buffer.from([0, 0, 1]),
      nals[1],
      Buffer.from([0, 0, 0, 1]),
      nals[2],
      Buffer.from([0, 0, 1]),
      nals[3],
    ]);
    for (const size of [1, 2, 3, 5, 7, stream.length]) {
      const parser = new AnnexBParser();
      const got: Buffer[] = [];
      for (let i = 0; i < stream.length; i += size) got.push(...parser.push(stream.subarray(i, i + size)));
      got.push(...parser.flush());
      expect(got).toEqual(nals);
    }
  });

  test('access units begin at parameter sets and at first slices', () => {
    const asm = new AccessUnitAssembler();
    const idr = Buffer.from([0x65, 0x88]);
    const p1 = Buffer.from([0x41, 0x9a]);
    const p2 = Buffer.from([0x41, 0x9b]);
    expect(asm.push(SPS)).toBeNull();
    expect(asm.push(PPS)).toBeNull();
    expect(asm.push(idr)).toBeNull();
    const first = asm.push(p1);
    expect(first).toEqual({ nals: [SPS, PPS, idr], key: true });
    expect(asm.push(p2)).toEqual({ nals: [p1], key: false });
    expect(asm.flush()).toEqual({ nals: [p2], key: false });
  });
});

describe('RTP H.264', () => {
  test('RTP header round trip', () => {
    const h = encodeRtpHeader({
      payloadType: 96,
      marker: true,
      sequence: 65535,
      timestamp: 0xfffffff0,
      ssrc: 0xdeadbeef,
    });
    expect(h.toString('hex')).toBe('80e0fffffffffff0deadbeef');
    const pkt = decodeRtpPacket(Buffer.concat([h, Buffer.from([0x41, 1])]));
    expect(pkt).toMatchObject({ payloadType: 96, marker: true, sequence: 65535, timestamp: 0xfffffff0 });
    expect(pkt.payload).toEqual(Buffer.from([0x41, 1]));
    expect(() => decodeRtpPacket(Buffer.from([0x40, 0, 0]))).toThrow();
  });

  test('small NALs go alone, large ones as FU-A with S/E bits, marker on the last packet only', () => {
    const big = Buffer.alloc(3000, 0xab);
    big[0] = 0x65;
    const payloads = packetizeAccessUnit([SPS, PPS, big], 1400);
    // 2999 bytes after the NAL header → 3 fragments of at most 1398.
    expect(payloads.map((p) => p.marker)).toEqual([false, false, false, false, true]);
    expect(payloads[0].payload).toBe(SPS);
    const fus = payloads.slice(2);
    expect(fus[0].payload[0]).toBe(0x60 | 28); // NRI of the IDR kept, type FU-A
    expect(fus[0].payload[1]).toBe(0x80 | 5);
    expect(fus[1].payload[1]).toBe(5);
    expect(fus[2].payload[1]).toBe(0x40 | 5);
    expect(Math.max(...payloads.map((p) => p.payload.length))).toBeLessThanOrEqual(1400);
  });

  test('depacketizer reassembles FU-A and STAP-A, and reports loss', () => {
    const big = Buffer.alloc(5000, 0x11);
    big[0] = 0x65;
    const unit = [SPS, PPS, big];
    const pkts = packetizeAccessUnit(unit, 1000).map((p, i) => ({
      payloadType: 96,
      marker: p.marker,
      sequence: 100 + i,
      timestamp: 9000,
      ssrc: 1,
      payload: p.payload,
    }));
    const dep = new H264Depacketizer();
    const out = pkts.flatMap((p) => dep.push(p));
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ key: true, timestamp: 9000, lossBefore: false });
    expect(out[0].nals).toEqual(unit);

    const stap = Buffer.concat([Buffer.from([24, 0, SPS.length]), SPS, Buffer.from([0, PPS.length]), PPS]);
    const next = dep.push({
      payloadType: 96,
      marker: false,
      sequence: 200,
      timestamp: 12000,
      ssrc: 1,
      payload: stap,
    });
    expect(next).toEqual([]);
    const last = dep.push({
      payloadType: 96,
      marker: true,
      sequence: 201,
      timestamp: 12000,
      ssrc: 1,
      payload: Buffer.from([0x41, 7]),
    });
    expect(last[0].nals.map(nalType)).toEqual([NAL.SPS, NAL.PPS, NAL.SLICE]);
    expect(last[0].lossBefore).toBe(true);
    expect(dep.packetsLost).toBe(200 - 100 - pkts.length);
  });

  test('no marker bits and frozen timestamps (P2S): pictures are still split at slice starts', () => {
    const dep = new H264Depacketizer();
    const nals = [
      SPS,
      PPS,
      Buffer.from([0x65, 0x88, 1]),
      Buffer.from([0x41, 0x9a, 2]),
      Buffer.from([0x41, 0x9a, 3]),
    ];
    const out = nals.flatMap((payload, i) =>
      dep.push({ payloadType: 96, marker: false, sequence: i, timestamp: 0, ssrc: 1, payload }),
    );
    expect(out.map((u) => u.nals.length)).toEqual([3, 1]);
    expect(out[0].key).toBe(true);
  });

  test('real libx264 output survives packetize → depacketize byte for byte', () => {
    const run = spawnSync(
      'ffmpeg',
      [
        '-hide_banner',
        '-loglevel',
        'error',
        '-f',
        'lavfi',
        '-i',
        'testsrc2=size=640x360:rate=30',
        '-frames:v',
        '30',
        '-c:v',
        'libx264',
        '-profile:v',
        'baseline',
        '-preset',
        'ultrafast',
        '-g',
        '10',
        '-f',
        'h264',
        'pipe:1',
      ],
      { maxBuffer: 64 * 1024 * 1024 },
    );
    expect(run.status).toBe(0);
    const parser = new AnnexBParser();
    const asm = new AccessUnitAssembler();
    const units = [];
    for (const nal of [...parser.push(run.stdout), ...parser.flush()]) {
      const u = asm.push(nal);
      if (u) units.push(u);
    }
    units.push(asm.flush()!);
    expect(units.length).toBe(30);
    expect(units.filter((u) => u.key).length).toBe(3);
    const dep = new H264Depacketizer();
    let seq = 0;
    const back = units.flatMap((u, i) =>
      packetizeAccessUnit(u.nals).flatMap((p) =>
        dep.push({
          payloadType: 96,
          marker: p.marker,
          sequence: seq++,
          timestamp: i * 3000,
          ssrc: 7,
          payload: p.payload,
        }),
      ),
    );
    expect(toAnnexB(back.flatMap((u) => u.nals))).toEqual(toAnnexB(units.flatMap((u) => u.nals)));
  });
});

describe('parsers never crash on garbage', () => {
  // A small deterministic PRNG, so a failure can be replayed.
  let seed = 12345;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(rand() * 256)));

  test('RTSP stream parser: only RtspParseError, never anything else', () => {
    for (let i = 0; i < 500; i++) {
      const parser = new RtspStreamParser();
      const prefix = rand() < 0.5 ? Buffer.from('RTSP/1.0 200 OK\r\nCSeq: 1\r\n') : Buffer.alloc(0);
      try {
        parser.push(Buffer.concat([prefix, bytes(Math.floor(rand() * 300))]));
      } catch (err) {
        expect(err).toBeInstanceOf(RtspParseError);
      }
    }
  });

  test('RTP depacketizer and Annex-B parser take any payload', () => {
    const dep = new H264Depacketizer();
    for (let i = 0; i < 2000; i++) {
      const payload = bytes(Math.floor(rand() * 40));
      dep.push({ payloadType: 96, marker: rand() < 0.3, sequence: i, timestamp: i >> 2, ssrc: 1, payload });
      try {
        decodeRtpPacket(bytes(Math.floor(rand() * 30)));
      } catch (err) {
        expect((err as Error).name).toBe('RtpParseError');
      }
    }
    const annexB = new AnnexBParser();
    for (let i = 0; i < 200; i++) annexB.push(bytes(Math.floor(rand() * 100)));
    expect(() => parseSdp(bytes(500).toString('latin1'))).not.toThrow();
  });
});
