import { H264Stream } from '../src/hub/h264-stream';
import { rootLogger } from '../src/log';
import { NAL, nalType } from '../src/protocol/h264';
import { decodeRtpPacket, H264Depacketizer } from '../src/protocol/rtsp/rtp-h264';
import { RtspServer } from '../src/serve/rtsp/server';
import { waitFor } from './helpers';
import { RawRtsp } from './raw-rtsp';

jest.setTimeout(30_000);

const STALL_MS = 8000;

const SPS = Buffer.from('6742c01fda012416ec0440000003004000000f03c60ca8', 'hex');
const PPS = Buffer.from('68ce0fc8', 'hex');

/** An access unit whose slice carries its index, so a receiver can tell which one it got. */
function unit(index: number, key: boolean, size: number): { nals: Buffer[]; key: boolean } {
  const slice = Buffer.alloc(size, index & 0xff);
  slice[0] = key ? 0x65 : 0x41;
  slice[1] = 0x80;
  slice.writeUInt32BE(index, 2);
  return { nals: key ? [SPS, PPS, slice] : [slice], key };
}

describe('RTSP server', () => {
  let stream: H264Stream;
  let server: RtspServer;
  const clients: RawRtsp[] = [];
  beforeEach(async () => {
    stream = new H264Stream('test');
    server = new RtspServer({
      log: rootLogger.child('test'),
      host: '127.0.0.1',
      port: 0,
      resolve: (path) => (path === '/cam' ? { stream, credentials: null } : undefined),
      // The stall limit is well above how long the slow viewer pauses, even on a loaded machine.
      viewer: { maxQueuedBytes: 256 * 1024, stallMs: STALL_MS },
      describeWaitMs: 2000,
    });
    await server.start();
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await server.stop();
  });

  async function play(): Promise<RawRtsp> {
    const c = await RawRtsp.open(server.port);
    clients.push(c);
    c.keepPackets = true;
    const url = `rtsp://127.0.0.1:${server.port}/cam`;
    expect((await c.request('DESCRIBE', url)).status).toBe(200);
    const setup = await c.request('SETUP', `${url}/track1`, {
      Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1',
    });
    expect(setup.status).toBe(200);
    const session = setup.headers.session.split(';')[0];
    expect((await c.request('PLAY', url, { Session: session })).status).toBe(200);
    return c;
  }

  function received(c: RawRtsp): { index: number; key: boolean; complete: boolean; lossBefore: boolean }[] {
    const dep = new H264Depacketizer();
    const out = [];
    for (const p of c.packets) {
      for (const u of dep.push(decodeRtpPacket(p))) {
        const slice = u.nals[u.nals.length - 1];
        const index = slice.readUInt32BE(2);
        const expected = unit(index, u.key, slice.length);
        out.push({
          index,
          key: u.key,
          complete: u.nals.length >= 1 && slice.equals(expected.nals[expected.nals.length - 1]),
          lossBefore: u.lossBefore,
        });
      }
    }
    return out;
  }

  test('DESCRIBE waits for SPS/PPS, answers 503 when none come, 404 for unknown paths, 454 for a wrong session', async () => {
    const c = await RawRtsp.open(server.port);
    clients.push(c);
    const url = `rtsp://127.0.0.1:${server.port}/cam`;
    expect((await c.request('DESCRIBE', `rtsp://127.0.0.1:${server.port}/other`)).status).toBe(404);
    expect((await c.request('DESCRIBE', url)).status).toBe(503);
    expect(stream.demand).toBe(1); // the DESCRIBE asked for the stream (an encoder would start)
    setTimeout(() => stream.push(unit(0, true, 100), 0), 300);
    const ok = await c.request('DESCRIBE', url);
    expect(ok.status).toBe(200);
    expect(ok.body).toContain(`sprop-parameter-sets=${SPS.toString('base64')},${PPS.toString('base64')}`);
    expect((await c.request('PLAY', url, { Session: 'nope' })).status).toBe(454);
    c.close();
    await waitFor(() => stream.demand === 0, 5000, 'demand released when the connection closed');
  });

  test('a new viewer starts on the cached keyframe; every viewer gets whole pictures', async () => {
    for (let i = 0; i < 5; i++) stream.push(unit(i, i === 0, 3000), i * 3000);
    const c = await play();
    for (let i = 5; i < 10; i++) stream.push(unit(i, false, 3000), i * 3000);
    await waitFor(() => received(c).length === 10, 5000, 'ten pictures');
    const got = received(c);
    expect(got.map((u) => u.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(got[0].key).toBe(true);
    expect(got.every((u) => u.complete && !u.lossBefore)).toBe(true);
  });

  test('a slow viewer loses whole pictures and resumes on a keyframe; a stuck one is dropped; others get everything', async () => {
    stream.push(unit(0, true, 50_000), 0);
    const fast = await play();
    const slow = await play();
    const stuck = await play();
    stuck.socket.pause();
    slow.socket.pause();
    let index = 1;
    const pushSome = async (n: number) => {
      for (let k = 0; k < n; k++, index++) {
        stream.push(unit(index, index % 10 === 0, 50_000), index * 3000);
        await new Promise((r) => setTimeout(r, 2));
      }
    };
    await pushSome(300); // 15 MB: far more than socket buffers hold
    slow.socket.resume();
    await pushSome(100);
    await waitFor(() => received(fast).length === index, 10_000, 'the fast viewer to get every picture');
    expect(received(fast).every((u) => u.complete)).toBe(true);

    await waitFor(() => received(slow).at(-1)?.index === index - 1, 10_000, 'the slow viewer to catch up');
    const slowUnits = received(slow);
    expect(slowUnits.length).toBeLessThan(index);
    expect(slowUnits.every((u) => u.complete)).toBe(true);
    // After every gap the next picture is a keyframe: loss only at picture boundaries, decodable.
    for (let i = 1; i < slowUnits.length; i++) {
      if (slowUnits[i].index !== slowUnits[i - 1].index + 1) expect(slowUnits[i].key).toBe(true);
    }
    // The stuck viewer (its socket paused, so it cannot see the close itself) is cut off by the server.
    await waitFor(
      () => stream.counters('rtsp').stalled === 1,
      STALL_MS + 5000,
      'the stuck viewer to be dropped',
    );
    await waitFor(() => server.stats.connectionsOpen === 2, 5000, 'its connection to close');
    expect(stream.counters('rtsp').dropped).toBeGreaterThan(0);
    expect(stream.counters('rtsp').viewers).toBe(2);
  });

  test('pipelined requests are answered in order, even when DESCRIBE waits for the stream', async () => {
    const c = await RawRtsp.open(server.port);
    clients.push(c);
    const url = `rtsp://127.0.0.1:${server.port}/cam`;
    c.write(`DESCRIBE ${url} RTSP/1.0\r\nCSeq: 1\r\n\r\nOPTIONS ${url} RTSP/1.0\r\nCSeq: 2\r\n\r\n`);
    setTimeout(() => stream.push(unit(0, true, 100), 0), 300);
    const first = await c.response();
    const second = await c.response();
    expect([first.headers.cseq, first.status]).toEqual(['1', 200]);
    expect([second.headers.cseq, second.status]).toEqual(['2', 200]);
  });

  test('UDP SETUP gets 461 and TCP works on the same connection; TEARDOWN stops delivery', async () => {
    stream.push(unit(0, true, 100), 0);
    const c = await RawRtsp.open(server.port);
    clients.push(c);
    const url = `rtsp://127.0.0.1:${server.port}/cam`;
    expect(
      (await c.request('SETUP', `${url}/track1`, { Transport: 'RTP/AVP;unicast;client_port=6000-6001' }))
        .status,
    ).toBe(461);
    const setup = await c.request('SETUP', `${url}/track1`, {
      Transport: 'RTP/AVP/TCP;unicast;interleaved=4-5',
    });
    expect(setup.headers.transport).toContain('interleaved=4-5');
    const session = setup.headers.session.split(';')[0];
    expect((await c.request('PLAY', url, { Session: session })).status).toBe(200);
    expect(stream.counters('rtsp').viewers).toBe(1);
    expect((await c.request('TEARDOWN', url, { Session: session })).status).toBe(200);
    expect(stream.counters('rtsp').viewers).toBe(0);
    expect(nalType(SPS)).toBe(NAL.SPS);
  });

  test('a CSeq that is not a number is never echoed: no bare CR, no header injection, no 5000 digits', async () => {
    const c = await RawRtsp.open(server.port);
    clients.push(c);
    const wire: Buffer[] = [];
    c.socket.on('data', (d: Buffer) => wire.push(d));
    const url = `rtsp://127.0.0.1:${server.port}/cam`;
    const cseqs = ['1\rInjected: yes', 'abc', '9'.repeat(5000), '7'];
    for (const cseq of cseqs) c.write(`OPTIONS ${url} RTSP/1.0\r\nCSeq: ${cseq}\r\n\r\n`);
    const answers = [];
    for (const _ of cseqs) answers.push(await c.response('OPTIONS'));
    expect(answers.map((a) => [a.status, a.headers.cseq])).toEqual([
      [200, '0'],
      [200, '0'],
      [200, '0'],
      [200, '7'],
    ]);
    const text = Buffer.concat(wire).toString('latin1');
    expect(text).not.toContain('Injected');
    expect(text).not.toContain('999999999999');
    // Every CR on the wire is part of a CRLF.
    expect(text.replace(/\r\n/g, '')).not.toContain('\r');
  });
});
