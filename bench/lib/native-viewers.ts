/**
 * Cheap chamber-image clients for benchmarks: TLS to a native server, the auth packet, then frames
 * parsed from the byte stream; they count bytes and read the simulator's send time from each JPEG's
 * comment (in its first bytes) without copying picture data.
 */
import { connect, type TLSSocket } from 'node:tls';
import { encodeAuthPacket } from '../../src/protocol/chamber';
import { readComment } from '../../src/protocol/jpeg';
import { parseSimTag, preciseNow } from '../../src/simulator/chamber-camera';

const HEAD_BYTES = 256;

export class NativeBenchViewer {
  bytes = 0;
  frames = 0;
  latencies: number[] = [];
  recording = false;
  firstFrameMs: number | null = null;
  private readonly startedAt = preciseNow();
  private header: Buffer = Buffer.alloc(0);
  private remaining = 0;
  private head: Buffer[] = [];
  private headLen = 0;
  private readonly socket: TLSSocket;

  constructor(port: number, code: string, stalled = false) {
    this.socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      this.socket.write(encodeAuthPacket(code));
      if (stalled) this.socket.pause();
    });
    this.socket.on('error', () => {});
    if (!stalled) this.socket.on('data', (c: Buffer) => this.onData(c));
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.bytes += chunk.length;
    let off = 0;
    while (off < chunk.length) {
      if (this.remaining === 0) {
        const need = 16 - this.header.length;
        this.header = Buffer.concat([this.header, chunk.subarray(off, off + need)]);
        off += Math.min(need, chunk.length - off);
        if (this.header.length < 16) return;
        this.remaining = this.header.readUInt32LE(0);
        this.header = Buffer.alloc(0);
        this.head = [];
        this.headLen = 0;
        continue;
      }
      const take = Math.min(this.remaining, chunk.length - off);
      if (this.headLen < HEAD_BYTES) {
        const part = chunk.subarray(off, off + Math.min(take, HEAD_BYTES - this.headLen));
        this.head.push(part);
        this.headLen += part.length;
      }
      this.remaining -= take;
      off += take;
      if (this.remaining === 0) this.onFrame();
    }
  }

  private onFrame(): void {
    const now = preciseNow();
    this.frames++;
    if (this.firstFrameMs === null) this.firstFrameMs = now - this.startedAt;
    if (!this.recording) return;
    const tag = parseSimTag(readComment(Buffer.concat(this.head)));
    if (tag) this.latencies.push(now - tag.sentAt);
  }
}
