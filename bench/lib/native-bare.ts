/**
 * Child process: the floor for the native :6000 fan-out — one upstream chamber socket, a TLS server
 * with the same key type and suites as bambucam's, and every frame written to every client as one
 * write (header + JPEG: Node's default 16 KB records), no hub and no record framing. A client whose
 * socket buffer is still full skips frames, so memory stays bounded as in bambucam.
 * argv: simPort accessCode.
 */
import { connect, createServer, type TLSSocket } from 'node:tls';
import { AUTH_PACKET_BYTES, encodeAuthPacket, encodeFrameHeader } from '../../src/protocol/chamber';
import { NATIVE_CIPHERS } from '../../src/serve/chamber-server';
import { generateCertificate } from '../../src/tls/certs';

const identity = generateCertificate({ commonName: '01P00A000000042' });
const clients = new Set<TLSSocket>();
const up = connect({ host: '127.0.0.1', port: Number(process.argv[2]), rejectUnauthorized: false }, () => {
  up.write(encodeAuthPacket(process.argv[3]));
});
let buf = Buffer.alloc(0);
up.on('data', (chunk: Buffer) => {
  buf = Buffer.concat([buf, chunk]);
  while (buf.length >= 16 && buf.length >= 16 + buf.readUInt32LE(0)) {
    const len = buf.readUInt32LE(0);
    const frame = Buffer.concat([encodeFrameHeader(len), buf.subarray(16, 16 + len)]);
    buf = buf.subarray(16 + len);
    for (const c of clients) if (!c.writableNeedDrain) c.write(frame);
  }
});
const server = createServer(
  { ...identity, minVersion: 'TLSv1.2', ciphers: NATIVE_CIPHERS, honorCipherOrder: true },
  (socket) => {
    socket.on('error', () => {});
    // BENCH_BARE_FRAGMENT=4096: the same small records as the printer, to see their own cost.
    if (process.env.BENCH_BARE_FRAGMENT) socket.setMaxSendFragment(Number(process.env.BENCH_BARE_FRAGMENT));
    let got = 0;
    socket.on('data', (c: Buffer) => {
      got += c.length;
      if (got >= AUTH_PACKET_BYTES) clients.add(socket);
    });
    socket.on('close', () => clients.delete(socket));
  },
);
server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as { port: number }).port }));
process.on('SIGTERM', () => process.exit(0));
