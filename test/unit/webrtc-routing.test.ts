import { classes, Message, methods } from 'werift';
import { packetizeAccessUnit } from '../../src/protocol/rtsp/rtp-h264';
import { announcedAddresses, isCandidateText, parseCandidate } from '../../src/webrtc/announce';
import { rtpPayloads, WEBRTC_MAX_PAYLOAD } from '../../src/webrtc/rtp-payloads';
import { bindingRequestUfrag, isStun } from '../../src/webrtc/stun';

function bindingRequest(username: string, password: string): Buffer {
  return new Message(methods.BINDING, classes.REQUEST)
    .setAttribute('USERNAME', username)
    .setAttribute('PRIORITY', 1)
    .addMessageIntegrity(Buffer.from(password, 'utf8'))
    .addFingerprint().bytes;
}

describe('STUN routing facts', () => {
  test('a binding request names our ufrag first in USERNAME', () => {
    const req = bindingRequest('srv1:cli1', 'pw');
    expect(isStun(req)).toBe(true);
    expect(bindingRequestUfrag(req)).toBe('srv1');
  });

  test('DTLS, RTP, truncated and response datagrams name no session', () => {
    expect(isStun(Buffer.from([22, 254, 253, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]))).toBe(
      false,
    );
    expect(bindingRequestUfrag(Buffer.from([0x80, 0x60, 0, 1]))).toBeNull();
    const req = bindingRequest('srv1:cli1', 'pw');
    expect(bindingRequestUfrag(req.subarray(0, 26))).toBeNull();
    const response = new Message(methods.BINDING, classes.RESPONSE).setAttribute(
      'USERNAME',
      'srv1:cli1',
    ).bytes;
    expect(bindingRequestUfrag(response)).toBeNull();
  });
});

describe('announced addresses', () => {
  const ifaces = {
    lo: [{ address: '127.0.0.1', family: 'IPv4', internal: true }],
    eth0: [
      { address: '192.168.1.20', family: 'IPv4', internal: false },
      { address: 'fe80::1', family: 'IPv6', internal: false, scopeid: 2 },
      { address: 'fd00::20', family: 'IPv6', internal: false, scopeid: 0 },
    ],
    docker0: [{ address: '172.17.0.1', family: 'IPv4', internal: false }],
  } as unknown as NodeJS.Dict<import('node:os').NetworkInterfaceInfo[]>;

  test('a wildcard bind announces every non-loopback address of its family; a specific bind only itself', () => {
    expect(announcedAddresses('0.0.0.0', 8555, [], ifaces)).toEqual([
      { host: '192.168.1.20', port: 8555 },
      { host: '172.17.0.1', port: 8555 },
    ]);
    expect(announcedAddresses('::', 8555, [], ifaces).map((a) => a.host)).toEqual([
      '192.168.1.20',
      'fd00::20',
      '172.17.0.1',
    ]);
    expect(announcedAddresses('127.0.0.1', 8555, [], ifaces)).toEqual([{ host: '127.0.0.1', port: 8555 }]);
    expect(announcedAddresses('0.0.0.0', 8555, [], { lo: ifaces.lo })).toEqual([
      { host: '127.0.0.1', port: 8555 },
    ]);
  });

  test('configured candidates win, with their own port for NAT and Docker port mappings', () => {
    expect(
      announcedAddresses('0.0.0.0', 8555, ['192.168.1.5', '203.0.113.7:18555', '[fd00::5]:9'], ifaces),
    ).toEqual([
      { host: '192.168.1.5', port: 8555 },
      { host: '203.0.113.7', port: 18555 },
      { host: 'fd00::5', port: 9 },
    ]);
    expect(parseCandidate('fd00::5', 8555)).toEqual({ host: 'fd00::5', port: 8555 });
    for (const good of ['10.0.0.1', '10.0.0.1:1', 'fd00::1', '[fd00::1]:8555'])
      expect(isCandidateText(good)).toBe(true);
    for (const bad of ['gw.local', '10.0.0.1:0', '10.0.0.1:70000', '', 5, '[fd00::1]:x'])
      expect(isCandidateText(bad)).toBe(false);
  });
});

describe('packetized once', () => {
  test('every peer gets the same payload buffers; large NAL units are FU-A fragments within the WebRTC MTU', () => {
    const unit = {
      nals: [Buffer.from([0x67, 0x42, 0xc0, 0x1f]), Buffer.from([0x68, 0xce]), Buffer.alloc(5000, 0x65)],
      key: true,
      timestamp: 0,
      bytes: 5006,
      receivedAt: 0,
    };
    const a = rtpPayloads(unit);
    expect(rtpPayloads(unit)).toBe(a);
    expect(a).toEqual(packetizeAccessUnit(unit.nals, WEBRTC_MAX_PAYLOAD));
    for (const p of a) expect(p.payload.length).toBeLessThanOrEqual(WEBRTC_MAX_PAYLOAD);
    expect(a.filter((p) => p.marker)).toHaveLength(1);
    expect(a.at(-1)!.marker).toBe(true);
  });
});
