/**
 * One reader of an H.264 stream (an RTSP viewer, the HLS muxer, the decoder, a WebRTC output): a
 * bounded queue of whole access units between the stream and the reader's sink. The sink takes one
 * unit at a time and calls `done` when it can take the next (at once for in-process readers, on
 * drain for sockets). When the queue would pass its byte limit, the queued pictures are dropped and
 * the reader waits for the next keyframe, so loss happens only at picture boundaries, a reader
 * resumes on a decodable picture, and a slow reader never slows the others. The stream counts
 * delivered and dropped per output by itself; a reader busy for too long is closed (stalled).
 */
import type { StreamCounters, StreamUnit } from './h264-unit';

export interface H264Sink {
  /** Take one unit; call `done` once another can be taken. */
  send(unit: StreamUnit, done: () => void): void;
  /** The stream gave up on this reader (stalled, or the stream closed). */
  close(reason: string): void;
}

export interface H264ReadOptions {
  /** The output this reader belongs to ('rtsp', 'hls', 'decoder', 'webrtc', ...), for the counters. */
  output: string;
  /** Bytes queued for this reader beyond which it loses pictures until the next keyframe. */
  maxQueuedBytes?: number;
  /** A reader whose sink has not taken a unit for this long is closed. */
  stallMs?: number;
}

export const DEFAULT_MAX_QUEUED_BYTES = 2 * 1024 * 1024;
export const DEFAULT_STALL_MS = 10_000;

export class H264Reader {
  delivered = 0;
  dropped = 0;
  private queue: StreamUnit[] = [];
  private queuedBytes = 0;
  private busySince: number | null = null;
  private waitingForKey = true;
  private pumping = false;
  private closed = false;
  readonly maxQueuedBytes: number;
  readonly stallMs: number;

  constructor(
    private readonly sink: H264Sink,
    readonly opts: H264ReadOptions,
    private readonly counters: StreamCounters,
    private readonly detachFromStream: (reader: H264Reader) => void,
  ) {
    this.maxQueuedBytes = opts.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
    this.stallMs = opts.stallMs ?? DEFAULT_STALL_MS;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Bytes of pictures waiting for the sink. */
  get backlogBytes(): number {
    return this.queuedBytes;
  }

  /** How long the sink has been busy with one unit, or 0. */
  busyFor(now: number): number {
    return this.busySince === null ? 0 : now - this.busySince;
  }

  offer(unit: StreamUnit): void {
    if (this.closed) return;
    if (this.waitingForKey && !unit.key) {
      this.drop(1);
      return;
    }
    if (this.queuedBytes + unit.bytes > this.maxQueuedBytes && this.queue.length > 0) {
      // Too far behind: lose the queued pictures, resume on a keyframe (this one, if it is one).
      this.drop(this.queue.length);
      this.queue = [];
      this.queuedBytes = 0;
      if (!unit.key) {
        this.waitingForKey = true;
        this.drop(1);
        return;
      }
    }
    this.waitingForKey = false;
    this.queue.push(unit);
    this.queuedBytes += unit.bytes;
    this.pump();
  }

  private pump(): void {
    // A sink that calls done() synchronously must not recurse once per queued unit.
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (!this.closed && this.busySince === null && this.queue.length > 0) {
        const unit = this.queue.shift() as StreamUnit;
        this.queuedBytes -= unit.bytes;
        this.busySince = Date.now();
        this.delivered++;
        this.counters.delivered++;
        let finished = false;
        this.sink.send(unit, () => {
          if (finished || this.closed) return;
          finished = true;
          this.busySince = null;
          if (!this.pumping) this.pump();
        });
      }
    } finally {
      this.pumping = false;
    }
  }

  private drop(n: number): void {
    this.dropped += n;
    this.counters.dropped += n;
  }

  /** Detach from the stream; the sink is not told (the caller is the one closing). */
  unsubscribe(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    this.queuedBytes = 0;
    this.detachFromStream(this);
  }

  /** Detach and tell the sink why. */
  close(reason: string): void {
    if (this.closed) return;
    this.unsubscribe();
    this.sink.close(reason);
  }
}
