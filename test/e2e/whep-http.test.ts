/** WHEP as a plain HTTP client sees it: status codes, headers, CORS, the answer's SDP. No browser. */
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { type IncomingHttpHeaders, request } from 'node:http';
import { join } from 'node:path';
import { profileLevelIdOfSps } from '../../src/webrtc/h264-profile';
import { WebrtcOutput } from '../../src/webrtc/webrtc-output';
import { type Gateway, httpJson, spec, startGateway, waitFor } from '../helpers';

jest.setTimeout(60_000);

const OFFER = readFileSync(join(__dirname, '..', 'fixtures', 'chromium-offer.sdp'), 'utf8');
const LOOPBACK_WEBRTC = { host: '127.0.0.1', port: 0, candidates: ['127.0.0.1'] };

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

function call(
  method: string,
  url: string,
  opts: { headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: opts.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

const post = (url: string, body: string, type = 'application/sdp') =>
  call('POST', url, { headers: { 'Content-Type': type }, body });

const errorCode = (a: Answer) => (JSON.parse(a.body) as { error: string }).error;

describe('WHEP over HTTP', () => {
  let gw: Gateway | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  test('offer → 201 with an ICE-lite answer for the stream’s H.264; PATCH trickle, DELETE, OPTIONS and the errors', async () => {
    gw = await startGateway([spec({ fps: 5 })], { config: { webrtc: LOOPBACK_WEBRTC } });
    const id = gw.fleet[0].spec.id;
    const whep = `${gw.base}/printers/${id}/whep`;

    // A CORS preflight from Home Assistant's origin (the card), and a plain OPTIONS.
    const preflight = await call('OPTIONS', whep, {
      headers: { Origin: 'http://homeassistant.local:8123', 'Access-Control-Request-Method': 'POST' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe('*');
    expect(preflight.headers['access-control-allow-methods']).toMatch(/POST.*PATCH.*DELETE/);
    expect(preflight.headers['access-control-allow-headers']).toMatch(/Content-Type/i);
    const options = await call('OPTIONS', whep);
    expect(options.status).toBe(204);
    expect(options.headers['accept-post']).toBe('application/sdp');
    expect(options.headers['accept-patch']).toBe('application/trickle-ice-sdpfrag');

    const created = await post(whep, OFFER);
    expect(created.status).toBe(201);
    expect(created.headers['content-type']).toMatch(/^application\/sdp/);
    expect(created.headers['access-control-allow-origin']).toBe('*');
    expect(created.headers['access-control-expose-headers']).toMatch(/Location/);
    expect(created.headers['accept-patch']).toBe('application/trickle-ice-sdpfrag');
    const location = created.headers.location!;
    expect(location).toMatch(new RegExp(`^/printers/${id}/whep/[0-9a-f]{32}$`));
    const etag = created.headers.etag!;
    expect(etag).toMatch(/^"[0-9a-f]{32}"$/);

    // The answer: ICE lite at session level, candidates on loopback and the shared port only, the offer's
    // two sections in order, one H.264 payload type with the stream's own profile-level-id.
    const answer = created.body;
    expect(answer).toMatch(/^v=0\r\n/);
    const [session] = answer.split(/\r\nm=/);
    expect(session).toMatch(/\r\na=ice-lite(\r\n|$)/);
    expect([...answer.matchAll(/^m=(\w+) /gm)].map((m) => m[1])).toEqual(['video', 'audio']);
    const candidates = [...answer.matchAll(/^a=candidate:.*$/gm)].map((m) => m[0]);
    expect(candidates.length).toBeGreaterThan(0);
    for (const c of candidates)
      expect(c).toMatch(
        new RegExp(` udp \\d+ 127\\.0\\.0\\.1 ${gw.app.output(WebrtcOutput)!.port} typ host`),
      );
    const video = /^m=video \d+ \S+ (\d+)$/m.exec(answer)!;
    expect(video).not.toBeNull();
    const pt = video[1];
    // The Chromium offer's H.264 with packetization-mode=1 and Constrained Baseline is payload type 108.
    expect(pt).toBe('108');
    expect(answer).toContain(`a=rtpmap:${pt} H264/90000`);
    const worker = gw.app.workers.get(id)!;
    const plid = profileLevelIdOfSps(worker.h264.sps!);
    expect(answer).toContain(
      `a=fmtp:${pt} level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=${plid}`,
    );
    expect(plid).toMatch(/^42[c-e]0/); // the encoder's Constrained Baseline
    const feedback = [...answer.matchAll(new RegExp(`^a=rtcp-fb:${pt} (.*?)\\r?$`, 'gm'))].map((m) => m[1]);
    expect(feedback.sort()).toEqual(['ccm fir', 'nack', 'nack pli']);
    expect(answer).toMatch(/^a=sendonly\r?$/m);

    const status = await httpJson<{ outputs: { webrtc: { peers: number; sessions: { state: string }[] } } }>(
      `${gw.base}/api/printers/${id}`,
    );
    expect(status.outputs.webrtc.peers).toBe(1);
    expect(status.outputs.webrtc.sessions[0].state).toBe('connecting');

    // PATCH: a trickled candidate is accepted (ICE lite needs none); an ICE restart is not supported.
    const frag =
      'a=ice-ufrag:9KGS\r\na=ice-pwd:Z8dN4R9Hfhz9F2Pnygb+59t4\r\nm=video 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\na=candidate:1 1 udp 2113937151 127.0.0.1 50000 typ host\r\n';
    const sessionUrl = `${gw.base}${location}`;
    const ufrag = /^a=ice-ufrag:(\S+)/m.exec(OFFER)![1];
    const trickle = await call('PATCH', sessionUrl, {
      headers: { 'Content-Type': 'application/trickle-ice-sdpfrag', 'If-Match': etag },
      body: frag.replace('9KGS', ufrag),
    });
    expect(trickle.status).toBe(204);
    const restart = await call('PATCH', sessionUrl, {
      headers: { 'Content-Type': 'application/trickle-ice-sdpfrag', 'If-Match': '*' },
      body: frag.replace('9KGS', 'zzzz'),
    });
    expect(restart.status).toBe(422);
    const wrongEtag = await call('PATCH', sessionUrl, {
      headers: { 'Content-Type': 'application/trickle-ice-sdpfrag', 'If-Match': '"nope"' },
      body: frag,
    });
    expect(wrongEtag.status).toBe(412);
    const wrongType = await call('PATCH', sessionUrl, {
      headers: { 'Content-Type': 'text/plain' },
      body: frag,
    });
    expect(wrongType.status).toBe(415);

    const deleted = await call('DELETE', sessionUrl);
    expect(deleted.status).toBe(200);
    expect(deleted.headers['access-control-allow-origin']).toBe('*');
    expect((await call('DELETE', sessionUrl)).status).toBe(404);
    expect(
      (
        await call('PATCH', sessionUrl, {
          headers: { 'Content-Type': 'application/trickle-ice-sdpfrag' },
          body: frag,
        })
      ).status,
    ).toBe(404);
    await waitFor(
      async () =>
        (await httpJson<{ viewers: Record<string, number> }>(`${gw!.base}/api/printers/${id}`)).viewers
          .webrtc === 0,
      5000,
      'the peer to be gone',
    );

    // Errors: unknown printer, not SDP, not an offer, no video, no usable H.264, too big.
    const unknown = await post(`${gw.base}/printers/nope/whep`, OFFER);
    expect([unknown.status, errorCode(unknown)]).toEqual([404, 'unknown_printer']);
    expect((await post(whep, OFFER, 'text/plain')).status).toBe(415);
    const garbage = await post(whep, 'hello');
    expect([garbage.status, errorCode(garbage)]).toEqual([400, 'bad_offer']);
    const audioOnly = OFFER.replace(/m=video[\s\S]*?(?=m=audio)/, '');
    expect((await post(whep, audioOnly)).status).toBe(400);
    const vp8Only = OFFER.replace(/H264\/90000/g, 'X-NOPE/90000');
    const noH264 = await post(whep, vp8Only);
    expect([noH264.status, errorCode(noH264)]).toEqual([400, 'bad_offer']);
    expect(JSON.parse(noH264.body).message).toMatch(/H\.264/);
    const huge = await post(whep, `${OFFER}a=x-pad:${'x'.repeat(70_000)}\r\n`);
    expect(huge.status).toBe(413);
    expect(huge.headers['access-control-allow-origin']).toBe('*');
  });

  test('a peer that never connects is closed after the connect timeout and counted as failed', async () => {
    gw = await startGateway([spec({ fps: 5 })], {
      config: { webrtc: LOOPBACK_WEBRTC },
      tuning: { webrtc: { connectTimeoutMs: 1500 } },
    });
    const id = gw.fleet[0].spec.id;
    const created = await post(`${gw.base}/printers/${id}/whep`, OFFER);
    expect(created.status).toBe(201);
    const json = await waitFor(
      async () => {
        const j = await httpJson<{ outputs: { webrtc: { peers: number; sessions_failed: number } } }>(
          `${gw!.base}/api/printers/${id}`,
        );
        return j.outputs.webrtc.sessions_failed === 1 ? j : null;
      },
      10_000,
      'the session to time out',
    );
    expect(json.outputs.webrtc.peers).toBe(0);
    expect((await call('DELETE', `${gw.base}${created.headers.location}`)).status).toBe(404);
  });

  test('webrtc.enabled: false answers 503 and opens no UDP port; a taken port disables only WebRTC, naming webrtc.port', async () => {
    gw = await startGateway([spec({ fps: 5 })], {
      config: { webrtc: { ...LOOPBACK_WEBRTC, enabled: false } },
    });
    const id = gw.fleet[0].spec.id;
    const off = await post(`${gw.base}/printers/${id}/whep`, OFFER);
    expect([off.status, errorCode(off)]).toEqual([503, 'webrtc_unavailable']);
    expect(JSON.parse(off.body).message).toMatch(/webrtc\.enabled/);
    expect(gw.app.output(WebrtcOutput)!.port).toBe(0);
    const status = await httpJson<{ outputs: { webrtc: { state: string } }; urls: Record<string, string> }>(
      `${gw.base}/api/printers/${id}`,
    );
    expect(status.outputs.webrtc.state).toBe('disabled');
    expect(status.urls.whep).toBeUndefined();
    await gw.stop();

    const squatter = createSocket('udp4');
    await new Promise<void>((r) => squatter.bind(0, '127.0.0.1', r));
    try {
      const port = squatter.address().port;
      // test/setup.ts sets BAMBUCAM_WEBRTC_PORT=0 for every test, and the environment wins over the file.
      const saved = process.env.BAMBUCAM_WEBRTC_PORT;
      delete process.env.BAMBUCAM_WEBRTC_PORT;
      try {
        gw = await startGateway([spec({ fps: 5 })], { config: { webrtc: { ...LOOPBACK_WEBRTC, port } } });
      } finally {
        process.env.BAMBUCAM_WEBRTC_PORT = saved;
      }
      const pid = gw.fleet[0].spec.id;
      const json = await httpJson<{ outputs: { webrtc: { state: string; reason: string } } }>(
        `${gw.base}/api/printers/${pid}`,
      );
      expect(json.outputs.webrtc.state).toBe('failed');
      expect(json.outputs.webrtc.reason).toMatch(new RegExp(`${port}.*in use.*webrtc\\.port`));
      const refused = await post(`${gw.base}/printers/${pid}/whep`, OFFER);
      expect(refused.status).toBe(503);
      // Everything else still runs.
      expect((await call('GET', `${gw.base}/printers/${pid}/snapshot.jpg`)).status).toBe(200);
    } finally {
      squatter.close();
    }
  });

  test('with http.users, an offer needs credentials; one sent with ?token= gets a Location that carries it', async () => {
    const token = 'whep-test-token-0123456789';
    gw = await startGateway([spec({ fps: 5 })], {
      config: {
        http: { port: 0, host: '127.0.0.1', users: [{ username: 'viewer', password: 'pw-viewer', token }] },
      },
    });
    const whep = `${gw.base}/printers/${gw.fleet[0].spec.id}/whep`;
    const anonymous = await post(whep, OFFER);
    expect(anonymous.status).toBe(401);
    const created = await post(`${whep}?token=${token}`, OFFER);
    expect(created.status).toBe(201);
    expect(created.headers.location).toMatch(new RegExp(`/whep/[0-9a-f]{32}\\?token=${token}$`));
    expect((await call('DELETE', `${gw.base}${created.headers.location!.split('?')[0]}`)).status).toBe(401);
    expect((await call('DELETE', `${gw.base}${created.headers.location}`)).status).toBe(200);
  });
});
