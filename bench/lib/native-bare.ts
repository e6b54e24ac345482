/**
 * Child process: the floor for the native :6000 fan-out — one upstream chamber socket, a TLS server
 * with the same key type and suites as bambucam's, and every frame written to every client as one
 * write (header + JPEG: Node's default 16 KB records), no hub and no record framing. A client whose
 * socket buffer is still full skips frames, so memory stays bounded as in bambucam.
 * argv: simPort accessCode.
 */
import { createServer, type TLSSocket } from 'node:tls';
import { AUTH_PACKET_BYTES, encodeFrameHeader } from '../../src/protocol/chamber';
import { generateCertificate } from '../../src/tls/certs';
import { TLS_SERVER_CIPHERS } from '../../src/tls/ciphers';
import { bareUpstream } from './bare-upstream';

const identity = generateCertificate({ commonName: '01P00A000000042' });
const clients = new Set<TLSSocket>();
bareUpstream(Number(process.argv[2]), process.argv[3], (jpeg) => {
  const frame = Buffer.concat([encodeFrameHeader(jpeg.length), jpeg]);
  for (const c of clients) if (!c.writableNeedDrain) c.write(frame);
});
const server = createServer(
  { ...identity, minVersion: 'TLSv1.2', ciphers: TLS_SERVER_CIPHERS, honorCipherOrder: true },
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
