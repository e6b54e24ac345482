/** The shared WebRTC UDP port with real sockets on loopback. */
import { createSocket, type Socket } from 'node:dgram';
import { classes, Message, methods } from 'werift';
import { rootLogger } from '../src/log';
import { type UdpAddress, UdpMux } from '../src/webrtc/udp-mux';
import { waitFor } from './helpers';

function bindingRequest(username: string, password: string): Buffer {
  return new Message(methods.BINDING, classes.REQUEST)
    .setAttribute('USERNAME', username)
    .setAttribute('PRIORITY', 1)
    .addMessageIntegrity(Buffer.from(password, 'utf8'))
    .addFingerprint().bytes;
}

describe('UdpMux: every peer on one port', () => {
  let mux: UdpMux;
  const clients: Socket[] = [];

  async function client(): Promise<Socket> {
    const s = createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
    clients.push(s);
    return s;
  }
  const sendTo = (s: Socket, data: Buffer) => s.send(data, mux.port, '127.0.0.1');

  beforeEach(async () => {
    mux = new UdpMux({ host: '127.0.0.1', port: 0, log: rootLogger });
    await mux.start();
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await mux.stop();
  });

  test('routes by ufrag once the request is authentic, then by address; answers go back on the same port', async () => {
    const got: Record<string, { data: string; from: UdpAddress }[]> = { a: [], b: [] };
    const sessions = Object.fromEntries(
      (['a', 'b'] as const).map((name) => [
        name,
        mux.open(`ufrag-${name}`, {
          onDatagram: (data, from) => got[name].push({ data: data.toString('latin1'), from }),
          authenticate: (req) =>
            req.includes(Buffer.from(`ufrag-${name}:`)) && !req.includes(Buffer.from('forged')),
        }),
      ]),
    );
    const [ca, cb, stranger] = await Promise.all([client(), client(), client()]);
    // Nothing is routed before a session's ufrag is seen from that address.
    sendTo(stranger, Buffer.from('dtls-before'));
    sendTo(ca, bindingRequest('ufrag-a:x', 'pw'));
    sendTo(cb, bindingRequest('ufrag-b:y', 'pw'));
    await waitFor(() => got.a.length === 1 && got.b.length === 1, 2000, 'the two binding requests');
    sendTo(ca, Buffer.from('media-a'));
    sendTo(cb, Buffer.from('media-b'));
    // A request that fails the session's integrity check binds nothing.
    sendTo(stranger, bindingRequest('ufrag-a:forged', 'pw'));
    sendTo(stranger, Buffer.from('dtls-after'));
    await waitFor(() => got.a.length === 2 && got.b.length === 2, 2000, 'the media');
    expect(got.a[1].data).toBe('media-a');
    expect(got.b[1].data).toBe('media-b');
    expect(got.a[1].from).toEqual(['127.0.0.1', ca.address().port]);
    await waitFor(() => mux.unclaimed === 3, 2000, 'three unclaimed datagrams');

    const reply = new Promise<Buffer>((r) => ca.once('message', (m) => r(m)));
    sessions.a.send(Buffer.from('answer'), ['127.0.0.1', ca.address().port]);
    expect((await reply).toString()).toBe('answer');
    expect(sessions.a.remote).toBe(`127.0.0.1:${ca.address().port}`);

    // A closed session forgets its addresses.
    sessions.a.close();
    sendTo(ca, Buffer.from('late'));
    await waitFor(() => mux.unclaimed === 4, 2000, 'the late datagram to be unclaimed');
    expect(got.a).toHaveLength(2);
    expect(() => mux.open('ufrag-b', { onDatagram: () => {}, authenticate: () => true })).toThrow(/in use/);
    expect(mux.sessions).toBe(1);
  });
});
