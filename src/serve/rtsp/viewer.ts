/**
 * One playing RTSP session: a reader of the printer's H.264 stream that writes each picture's
 * interleaved RTP (built once by the server's packetizer) to the client's socket. The reader's
 * bounded queue does the rest: a congested client loses whole pictures, resumes on a keyframe, and
 * is closed when it takes nothing for the stall limit.
 */
import type { Socket } from 'node:net';
import type { H264Reader, H264Stream } from '../../hub/h264-stream';
import type { RtpPacketizer } from './rtp-packetizer';

export interface ViewerLimits {
  /** Bytes of pictures queued for a viewer beyond which it loses pictures until the next keyframe. */
  maxQueuedBytes?: number;
  /** A viewer that cannot take pictures for this long is disconnected. */
  stallMs?: number;
}

export class Viewer {
  private reader: H264Reader | null = null;

  constructor(
    private readonly socket: Socket,
    readonly stream: H264Stream,
    private readonly packetizer: RtpPacketizer,
    readonly channel: number,
    private readonly output: string,
    private readonly limits: ViewerLimits,
    private readonly closeConnection: (reason: string) => void,
  ) {}

  start(): void {
    if (this.reader) return;
    const socket = this.socket;
    this.reader = this.stream.subscribe(
      {
        send: (unit, done) => {
          if (socket.destroyed) return;
          if (socket.write(this.packetizer.wire(unit, this.channel))) done();
          else socket.once('drain', done);
        },
        close: (reason) => this.closeConnection(reason),
      },
      { output: this.output, maxQueuedBytes: this.limits.maxQueuedBytes, stallMs: this.limits.stallMs },
    );
  }

  stop(): void {
    this.reader?.unsubscribe();
    this.reader = null;
  }
}
