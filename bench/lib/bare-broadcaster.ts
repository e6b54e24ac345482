/**
 * Child process: the floor to compare against — one upstream TLS socket, every frame written to
 * every viewer as an MJPEG part, nothing else (no backpressure, no hub, no express).
 * argv: simPort accessCode.
 */
import { createServer, type ServerResponse } from 'node:http';
import { connect } from 'node:tls';
import { encodeAuthPacket } from '../../src/protocol/chamber';

const viewers = new Set<ServerResponse>();
const up = connect({ host: '127.0.0.1', port: Number(process.argv[2]), rejectUnauthorized: false }, () => {
  up.write(encodeAuthPacket(process.argv[3]));
});
let buf = Buffer.alloc(0);
up.on('data', (chunk: Buffer) => {
  buf = Buffer.concat([buf, chunk]);
  while (buf.length >= 16 && buf.length >= 16 + buf.readUInt32LE(0)) {
    const len = buf.readUInt32LE(0);
    const jpeg = buf.subarray(16, 16 + len);
    buf = buf.subarray(16 + len);
    const head = `--f\r\nContent-Type: image/jpeg\r\nContent-Length: ${len}\r\n\r\n`;
    for (const res of viewers) {
      res.write(head);
      res.write(jpeg);
      res.write('\r\n');
    }
  }
});
const server = createServer((_req, res) => {
  res.writeHead(200, { 'Content-Type': 'multipart/x-mixed-replace; boundary=f' });
  viewers.add(res);
  res.on('close', () => viewers.delete(res));
});
server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as { port: number }).port }));
process.on('SIGTERM', () => process.exit(0));
