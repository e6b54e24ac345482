/**
 * The bare broadcasters' upstream: one TLS socket to the simulated printer, the auth packet, and the
 * simplest possible frame splitter (no bounds checks, no JPEG checks) — the floor to compare against.
 */
import { connect } from 'node:tls';
import { encodeAuthPacket } from '../../src/protocol/chamber';

export function bareUpstream(port: number, code: string, onFrame: (jpeg: Buffer) => void): void {
  const up = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
    up.write(encodeAuthPacket(code));
  });
  let buf = Buffer.alloc(0);
  up.on('data', (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    while (buf.length >= 16 && buf.length >= 16 + buf.readUInt32LE(0)) {
      const len = buf.readUInt32LE(0);
      onFrame(buf.subarray(16, 16 + len));
      buf = buf.subarray(16 + len);
    }
  });
}
