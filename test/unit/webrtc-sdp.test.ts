import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { acceptableProfiles, h264Profile, profileLevelIdOfSps } from '../../src/webrtc/h264-profile';
import { candidateAddresses, finishAnswer, OfferError, prepareOffer } from '../../src/webrtc/whep-sdp';

/** A real offer from Debian's chromium: recvonly video (VP8, VP9, H.264 in six variants, AV1) and audio. */
const CHROMIUM = readFileSync(join(__dirname, '..', 'fixtures', 'chromium-offer.sdp'), 'utf8');

function section(sdp: string, kind: string): string {
  const start = sdp.indexOf(`m=${kind} `);
  const next = sdp.indexOf('\r\nm=', start + 1);
  return sdp.slice(start, next < 0 ? undefined : next);
}

describe('H.264 profile-level-id', () => {
  test.each([
    ['42e01f', 'constrained-baseline'],
    ['42c01f', 'constrained-baseline'], // the X1C's SPS (PROTOCOLS.md §4)
    ['42C01F', 'constrained-baseline'],
    ['4d801f', 'constrained-baseline'],
    ['42001f', 'baseline'],
    ['4d001f', 'main'],
    ['64001f', 'high'],
    ['640c1f', 'constrained-high'],
    ['f4001f', 'high-444'],
    ['zz001f', 'unknown'],
    ['4200', 'unknown'],
  ])('%s is %s', (plid, profile) => {
    expect(h264Profile(plid)).toBe(profile);
  });

  test('from an SPS: profile_idc, constraint flags, level_idc', () => {
    expect(profileLevelIdOfSps(Buffer.from([0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01]))).toBe('42c01f');
  });

  test('a Constrained Baseline stream plays on every common decoder, a Main one only on Main and High', () => {
    expect(acceptableProfiles('constrained-baseline')[0]).toBe('constrained-baseline');
    expect(acceptableProfiles('main')).toEqual(['main', 'high']);
  });
});

describe('WHEP offer and answer', () => {
  test('the first video section keeps only the best H.264 payload type for the stream, with supported feedback', () => {
    const p = prepareOffer(CHROMIUM, '42c01f');
    expect(p.payloadType).toBe(108); // packetization-mode=1, 42e01f
    expect(p.offeredProfileLevelId).toBe('42e01f');
    const video = section(p.sdp, 'video');
    expect(video.split('\r\n')[0]).toMatch(/^m=video \d+ UDP\/TLS\/RTP\/SAVPF 108$/);
    const payloadLines = video.split('\r\n').filter((l) => /^a=(rtpmap|fmtp|rtcp-fb):/.test(l));
    expect(payloadLines).toEqual([
      'a=rtpmap:108 H264/90000',
      'a=rtcp-fb:108 ccm fir',
      'a=rtcp-fb:108 nack',
      'a=rtcp-fb:108 nack pli',
      'a=fmtp:108 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
    ]);
    // Other attributes stay; the audio section is untouched but for its candidates.
    expect(video).toContain('a=recvonly');
    expect(video).toContain('a=ice-ufrag:');
    expect(section(p.sdp, 'audio')).toContain('a=rtpmap:111 opus/48000/2');
    // bambucam is ICE lite: it never checks the offer's candidates, so none reach werift.
    expect(p.sdp).not.toMatch(/a=candidate:/);
    expect(p.sdp.endsWith('\r\n')).toBe(true);
  });

  test('a Main stream takes the Main payload type; a Baseline-only offer still plays a Constrained Baseline stream', () => {
    expect(prepareOffer(CHROMIUM, '4d0028').payloadType).toBe(116);
    const baselineOnly = CHROMIUM.replace('profile-level-id=42e01f', 'profile-level-id=640c1f');
    const p = prepareOffer(baselineOnly, '42e01f');
    expect(p.payloadType).toBe(102); // 42001f: Baseline decoders play Constrained Baseline
  });

  test('packetization-mode=0 is never chosen', () => {
    const onlyMode0 = CHROMIUM.replace(/packetization-mode=1/g, 'packetization-mode=0');
    expect(() => prepareOffer(onlyMode0, '42e01f')).toThrow(/packetization-mode=1/);
  });

  test.each([
    ['not SDP', 'hello', /not an SDP offer/],
    ['no video', CHROMIUM.replace(/m=video[\s\S]*?(?=m=audio)/, ''), /no video section/],
    ['no ICE credentials', CHROMIUM.replace(/a=ice-ufrag:.*\r\n/g, ''), /not a WebRTC offer/],
    ['a sender', CHROMIUM.replace('a=recvonly', 'a=sendonly'), /must receive/],
  ])('refuses %s with a sentence', (_name, sdp, message) => {
    expect(() => prepareOffer(sdp, '42e01f')).toThrow(OfferError);
    expect(() => prepareOffer(sdp, '42e01f')).toThrow(message);
  });

  test('the answer names the stream’s profile-level-id and has ICE lite at session level', () => {
    const p = prepareOffer(CHROMIUM, '42c01f');
    const werift = [
      'v=0',
      'o=- 1 0 IN IP4 0.0.0.0',
      's=-',
      't=0 0',
      'a=group:BUNDLE 0 1',
      'm=video 9 UDP/TLS/RTP/SAVPF 108',
      'a=candidate:1 1 udp 2130706431 127.0.0.1 8555 typ host',
      'a=ice-lite',
      'a=sendonly',
      'a=rtpmap:108 H264/90000',
      'a=fmtp:108 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
      'm=audio 9 UDP/TLS/RTP/SAVPF 111',
      'a=ice-lite',
      'a=rtpmap:111 opus/48000/2',
      '',
    ].join('\r\n');
    const answer = finishAnswer(werift, p, '42c01f');
    expect(answer).toContain(
      'a=fmtp:108 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42c01f\r\n',
    );
    const [session, ...media] = answer.split('\r\nm=');
    expect(session.split('\r\n')).toContain('a=ice-lite');
    for (const m of media) expect(m).not.toContain('a=ice-lite');
    expect(candidateAddresses(answer)).toEqual([{ transport: 'udp', host: '127.0.0.1', port: 8555 }]);
    // Baseline chosen for a Constrained Baseline stream: keep the offer's id, which the browser matches.
    const baselineOnly = prepareOffer(
      CHROMIUM.replace('profile-level-id=42e01f', 'profile-level-id=640c1f'),
      '42e01f',
    );
    const b = finishAnswer(werift.replace(/108/g, '102'), baselineOnly, '42e01f');
    expect(b).toContain('a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f');
  });
});
