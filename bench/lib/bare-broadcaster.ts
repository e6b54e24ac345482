/**
 * Child process: the floor to compare against — one upstream TLS socket, every frame written to
 * every viewer as an MJPEG part, nothing else (no backpressure, no hub, no express).
 * argv: simPort accessCode.
 */
import { createServer, type ServerResponse } from 'node:http';
import { bareUpstream } from './bare-upstream';

const viewers = new Set<ServerResponse>();
bareUpstream(Number(process.argv[2]), process.argv[3], (jpeg) => {
  const head = `--f\r\nContent-Type: image/jpeg\r\nContent-Length: ${jpeg.length}\r\n\r\n`;
  for (const res of viewers) {
    res.write(head);
    res.write(jpeg);
    res.write('\r\n');
  }
});
const server = createServer((_req, res) => {
  res.writeHead(200, { 'Content-Type': 'multipart/x-mixed-replace; boundary=f' });
  viewers.add(res);
  res.on('close', () => viewers.delete(res));
});
server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as { port: number }).port }));
process.on('SIGTERM', () => process.exit(0));
