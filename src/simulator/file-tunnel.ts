/**
 * What X1/H2/X2D printers have on :6000: a TLS file-transfer tunnel, not the chamber camera
 * (PROTOCOLS.md §1). It takes the same 80-byte login but answers with something that is not a JPEG,
 * so a port probe that does not check for FF D8 would be fooled.
 */
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { listenOn } from '../net/listen';
import { AUTH_PACKET_BYTES } from '../protocol/chamber';
import type { KeyAndCert } from '../tls/certs';

export class SimulatedFileTunnel {
  private readonly server: Server;
  private readonly sockets = new Set<TLSSocket>();

  constructor(
    identity: KeyAndCert,
    private readonly host = '127.0.0.1',
  ) {
    this.server = createServer({ ...identity, minVersion: 'TLSv1.2' }, (socket) => {
      this.sockets.add(socket);
      socket.on('error', () => {});
      socket.once('close', () => this.sockets.delete(socket));
      let received = 0;
      socket.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received < AUTH_PACKET_BYTES) return;
        // A 16-byte header followed by a JSON-ish control message: no JPEG marker.
        const body = Buffer.from('{"cmdtype":0,"sequence":1,"result":0}');
        const header = Buffer.alloc(16);
        header.writeUInt32LE(body.length, 0);
        socket.write(Buffer.concat([header, body]));
      });
    });
  }

  get port(): number {
    const addr = this.server.address();
    if (!addr || typeof addr === 'string') throw new Error('file tunnel is not listening');
    return addr.port;
  }

  async start(port = 0): Promise<void> {
    await listenOn(this.server, port, this.host);
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
