import { createHash } from 'node:crypto';
import { locateFfmpeg } from '../src/ffmpeg/locate';
import { SimulatedRtspsCamera } from '../src/simulator/rtsps-camera';
import { waitFor } from './helpers';
import { RawRtsp } from './raw-rtsp';

jest.setTimeout(30_000);

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

function digest(method: string, uri: string, realm: string, nonce: string, password: string): string {
  const response = md5(`${md5(`bblp:${realm}:${password}`)}:${nonce}:${md5(`${method}:${uri}`)}`);
  return `Digest username="bblp", realm="${realm}", nonce="${nonce}", uri="${uri}", response="${response}"`;
}

describe('simulated X1 camera: LIVE555 behaviour of PROTOCOLS.md §4', () => {
  let cam: SimulatedRtspsCamera;
  const clients: RawRtsp[] = [];
  beforeAll(async () => {
    cam = new SimulatedRtspsCamera({
      name: 'X1C test',
      serial: '00M00A000000777',
      accessCode: '11223344',
      ffmpegPath: locateFfmpeg()!.path,
      width: 320,
      height: 240,
      maxConnections: 1,
      sessionTimeoutS: 2,
    });
    await cam.start();
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });
  afterAll(() => cam.stop());

  const open = async () => {
    const c = await RawRtsp.open(cam.port, true);
    clients.push(c);
    return c;
  };

  test('OPTIONS, Digest 401 without qop, DESCRIBE with Content-Base and track1, SETUP timeout, PLAY', async () => {
    const c = await open();
    const url = `rtsps://127.0.0.1:${cam.port}/streaming/live/1`;
    const options = await c.request('OPTIONS', url);
    expect(options.status).toBe(200);
    expect(options.headers.public).toBe(
      'OPTIONS, DESCRIBE, SETUP, TEARDOWN, PLAY, PAUSE, GET_PARAMETER, SET_PARAMETER',
    );
    const unauth = await c.request('DESCRIBE', url);
    expect(unauth.status).toBe(401);
    const m = /^Digest realm="LIVE555 Streaming Media", nonce="([0-9a-f]{32})"$/.exec(
      unauth.headers['www-authenticate'],
    );
    expect(m).not.toBeNull();
    const nonce = m![1];
    const realm = 'LIVE555 Streaming Media';
    const described = await c.request('DESCRIBE', url, {
      Authorization: digest('DESCRIBE', url, realm, nonce, '11223344'),
    });
    expect(described.status).toBe(200);
    expect(described.headers['content-base']).toBe(`${url}/`);
    expect(described.body).toContain('m=video 0 RTP/AVP 96');
    expect(described.body).toContain('a=rtpmap:96 H264/90000');
    expect(described.body).toMatch(
      /a=fmtp:96 packetization-mode=1;profile-level-id=42C0..;sprop-parameter-sets=\S+,\S+/,
    );
    expect(described.body).toContain('a=control:track1');
    expect(described.body).toContain('a=range:npt=now-');
    const track = `${url}/track1`;
    const udp = await c.request('SETUP', track, {
      Transport: 'RTP/AVP;unicast;client_port=5000-5001',
      Authorization: digest('SETUP', track, realm, nonce, '11223344'),
    });
    expect(udp.status).toBe(461);
    const setup = await c.request('SETUP', track, {
      Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1',
      Authorization: digest('SETUP', track, realm, nonce, '11223344'),
    });
    expect(setup.status).toBe(200);
    expect(setup.headers.session).toMatch(/^[0-9A-F]+;timeout=2$/);
    const session = setup.headers.session.split(';')[0];
    const play = await c.request('PLAY', `${url}/`, {
      Session: session,
      Authorization: digest('PLAY', `${url}/`, realm, nonce, '11223344'),
    });
    expect(play.status).toBe(200);
    await waitFor(() => c.interleavedBytes > 10_000, 10_000, 'RTP on the TLS stream');
    // Without keep-alives the session expires (timeout=2 here, 10 on a printer).
    expect(await c.waitClosed(8000)).toBe(true);
    expect(cam.stats.sessionsExpired).toBeGreaterThanOrEqual(1);
  });

  test('a wrong code gets 401 again and the socket stays open; a second connection is refused at the limit', async () => {
    await waitFor(() => cam.stats.connectionsOpen === 0, 5000, 'earlier connections to close');
    const c = await open();
    const url = `rtsps://127.0.0.1:${cam.port}/streaming/live/1`;
    const first = await c.request('DESCRIBE', url);
    const nonce = /nonce="([0-9a-f]+)"/.exec(first.headers['www-authenticate'])![1];
    const wrong = await c.request('DESCRIBE', url, {
      Authorization: digest('DESCRIBE', url, 'LIVE555 Streaming Media', nonce, '00000000'),
    });
    expect(wrong.status).toBe(401);
    expect(c.closed).toBe(false);
    const refusedBefore = cam.stats.refused;
    const second = await RawRtsp.open(cam.port, true).catch(() => null);
    if (second) {
      clients.push(second);
      expect(await second.waitClosed(5000)).toBe(true);
    }
    expect(cam.stats.refused).toBe(refusedBefore + 1);
  });

  test('liveview off: port closed, or connections closed at once', async () => {
    await cam.setLiveview('port-closed');
    await expect(RawRtsp.open(cam.port, true)).rejects.toThrow(/ECONNREFUSED/);
    await cam.setLiveview('close-at-once');
    const c = await RawRtsp.open(cam.port, true).catch((err: Error) => err);
    if (c instanceof RawRtsp) {
      clients.push(c);
      expect(await c.waitClosed(5000)).toBe(true);
    } else expect(c.message).toMatch(/socket disconnected|ECONNRESET/);
    await cam.setLiveview('on');
    const ok = await open();
    expect((await ok.request('OPTIONS', '*')).status).toBe(200);
  });
});
