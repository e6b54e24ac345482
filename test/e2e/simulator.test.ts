import { connect, type TLSSocket } from 'node:tls';
import { encodeAuthPacket } from '../../src/protocol/chamber';
import { SimulatedChamberCamera } from '../../src/simulator/chamber-camera';
import { sleep, waitFor } from '../helpers';

function open(port: number): {
  socket: TLSSocket;
  secure: Promise<void>;
  bytes: () => number;
  closed: Promise<void>;
} {
  const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false });
  let n = 0;
  socket.on('data', (c: Buffer) => {
    n += c.length;
  });
  socket.on('error', () => {});
  return {
    socket,
    secure: new Promise((r) => socket.once('secureConnect', () => r())),
    bytes: () => n,
    closed: new Promise((r) => socket.once('close', () => r())),
  };
}

describe('simulated P1S camera', () => {
  let sim: SimulatedChamberCamera;
  afterEach(async () => sim?.stop());

  test('like a printer: a third connection gets no TLS handshake until one of two closes', async () => {
    sim = new SimulatedChamberCamera({
      name: 'Sim',
      serial: '01P00A000000009',
      accessCode: '12345678',
      fps: 5,
    });
    await sim.start();
    const a = open(sim.port);
    const b = open(sim.port);
    await Promise.all([a.secure, b.secure]);
    const c = open(sim.port);
    let cSecure = false;
    c.secure.then(() => {
      cSecure = true;
    });
    await waitFor(() => sim.stats.tcpConnections === 3);
    await sleep(500);
    expect(cSecure).toBe(false);
    expect(sim.stats.waiting).toBe(1);
    a.socket.destroy();
    await c.secure;
    expect(c.socket.getPeerCertificate().subject.CN).toBe('01P00A000000009');
    b.socket.destroy();
    c.socket.destroy();
  });

  test('a wrong code is answered by closing without a byte; a right one gets frames', async () => {
    sim = new SimulatedChamberCamera({
      name: 'Sim',
      serial: '01P00A000000009',
      accessCode: '12345678',
      fps: 10,
    });
    await sim.start();
    const wrong = open(sim.port);
    await wrong.secure;
    wrong.socket.write(encodeAuthPacket('00000000'));
    await wrong.closed;
    expect(wrong.bytes()).toBe(0);
    const right = open(sim.port);
    await right.secure;
    right.socket.write(encodeAuthPacket('12345678'));
    await waitFor(() => right.bytes() > 10_000);
    expect(sim.stats).toMatchObject({ authAttempts: 2, authFailures: 1, activeStreams: 1 });
    right.socket.destroy();
  });
});
