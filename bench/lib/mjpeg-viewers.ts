/**
 * Cheap MJPEG viewers for benchmarks: they count bytes and frames and read the simulator's send
 * time from each JPEG's comment, without copying picture data.
 */
import { type ClientRequest, request } from 'node:http';
import { readComment } from '../../src/protocol/jpeg';
import { parseSimTag, preciseNow } from '../../src/simulator/chamber-camera';
import type { BenchClient } from './fanout';

const HEAD_END = Buffer.from('\r\n\r\n');

export class BenchViewer implements BenchClient {
  bytes = 0;
  frames = 0;
  latencies: number[] = [];
  recording = false;
  firstFrameMs: number | null = null;
  private readonly startedAt = preciseNow();
  private head = Buffer.alloc(0);
  private remaining = 0;
  private bodyStart: Buffer[] = [];
  private bodyStartLen = 0;
  private readonly req: ClientRequest;

  constructor(url: string, paused = false) {
    this.req = request(url, (res) => {
      if (paused) return res.pause();
      res.on('data', (c: Buffer) => this.onData(c));
    });
    this.req.on('error', () => {});
    this.req.end();
  }

  close(): void {
    this.req.destroy();
  }

  private onData(chunk: Buffer): void {
    this.bytes += chunk.length;
    let off = 0;
    while (off < chunk.length) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, chunk.length - off);
        if (this.bodyStartLen < 256) {
          this.bodyStart.push(chunk.subarray(off, off + Math.min(take, 256 - this.bodyStartLen)));
          this.bodyStartLen += Math.min(take, 256 - this.bodyStartLen);
        }
        this.remaining -= take;
        off += take;
        if (this.remaining === 0) this.onFrame();
        continue;
      }
      this.head = Buffer.concat([this.head, chunk.subarray(off)]);
      off = chunk.length;
      const end = this.head.indexOf(HEAD_END);
      if (end < 0) return;
      const len = Number(/Content-Length: (\d+)/i.exec(this.head.toString('latin1', 0, end))?.[1]);
      const rest = this.head.subarray(end + 4);
      this.head = Buffer.alloc(0);
      this.remaining = len;
      this.bodyStart = [];
      this.bodyStartLen = 0;
      if (rest.length) this.onData(rest);
      this.bytes -= rest.length; // counted once already
      return;
    }
  }

  private onFrame(): void {
    const now = preciseNow();
    this.frames++;
    if (this.firstFrameMs === null) this.firstFrameMs = now - this.startedAt;
    if (!this.recording) return;
    const tag = parseSimTag(readComment(Buffer.concat(this.bodyStart)));
    if (tag) this.latencies.push(now - tag.sentAt);
  }
}
