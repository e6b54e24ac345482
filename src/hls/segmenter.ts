/**
 * HLS segmenter: H.264 access units in, MPEG-TS segments and a live media playlist out, all in
 * memory. A segment starts on a keyframe and is closed at the first keyframe at least
 * `targetMs` after its start, so segments are one GOP long when the GOP is ~1 s. Only a short
 * window is kept: old segments are dropped, so memory is bounded whatever the viewers do.
 *
 * No I/O and no timers: the HLS muxer feeds it and serves what it holds.
 */
import { TsMuxer } from '../protocol/mpegts';

export interface SegmenterOptions {
  /** Wanted segment length; segments end on the first keyframe after it. */
  targetMs?: number;
  /** Segments listed in the playlist. */
  listSize?: number;
  /** Segments kept after they leave the playlist, for clients that fetched an older playlist. */
  keepAfter?: number;
  /** A segment without a keyframe in sight is abandoned past this size. */
  maxSegmentBytes?: number;
}

export interface Segment {
  readonly seq: number;
  readonly name: string;
  /** 90 kHz, unwrapped. */
  readonly startPts: number;
  /** Wall clock (ms) when bambucam received its first picture: EXT-X-PROGRAM-DATE-TIME. */
  readonly startedAt: number;
  duration: number;
  data: Buffer;
}

export const SEGMENT_TARGET_MS = 1000;
export const LIST_SIZE = 5;
const KEEP_AFTER = 3;
const MAX_SEGMENT_BYTES = 16 * 1024 * 1024;
/** PTS of the first picture: a little room so that nothing is ever negative. */
const PTS_START = 90_000;

export function segmentName(seq: number): string {
  return `seg${seq}.ts`;
}

/** The sequence number named by a segment file name, or null for anything else. */
export function parseSegmentName(name: string): number | null {
  const m = /^seg(\d{1,15})\.ts$/.exec(name);
  return m ? Number(m[1]) : null;
}

interface Open {
  seq: number;
  startPts: number;
  startedAt: number;
  chunks: Buffer[];
  bytes: number;
}

export class Segmenter {
  private readonly ts = new TsMuxer();
  private readonly segments: Segment[] = [];
  private open: Open | null = null;
  private lastTs: number | null = null;
  private extTs = 0;
  private nextSeq: number;
  private maxDurationS = 1;
  private readonly targetTicks: number;
  private readonly listSize: number;
  private readonly keepAfter: number;
  private readonly maxBytes: number;
  /** Pictures dropped while waiting for a keyframe (start, or a segment abandoned). */
  dropped = 0;
  lastPictureAt: number | null = null;

  constructor(
    opts: SegmenterOptions = {},
    /** First media sequence number (a restarted muxer continues where the last one ended). */
    firstSeq = 0,
  ) {
    this.targetTicks = ((opts.targetMs ?? SEGMENT_TARGET_MS) * 90) | 0;
    this.listSize = opts.listSize ?? LIST_SIZE;
    this.keepAfter = opts.keepAfter ?? KEEP_AFTER;
    this.maxBytes = opts.maxSegmentBytes ?? MAX_SEGMENT_BYTES;
    this.nextSeq = firstSeq;
  }

  /** The stream's 32-bit RTP timestamps, unwrapped onto a growing 90 kHz line starting at PTS_START. */
  private unwrap(ts: number): number {
    if (this.lastTs === null) this.extTs = PTS_START;
    else {
      let delta = (ts - this.lastTs) >>> 0;
      if (delta >= 2 ** 31) delta = 0; // a step back: keep time still rather than jump
      this.extTs += delta;
    }
    this.lastTs = ts;
    return this.extTs;
  }

  /** Add one access unit. Returns the segment it closed, if any. */
  push(nals: readonly Buffer[], timestamp: number, key: boolean, receivedAt: number): Segment | null {
    const pts = this.unwrap(timestamp);
    this.lastPictureAt = receivedAt;
    let closed: Segment | null = null;
    const open = this.open;
    if (open && key && pts - open.startPts >= this.targetTicks - 4500) {
      closed = this.close(open, pts);
    }
    if (!this.open) {
      if (!key) {
        this.dropped++;
        return closed;
      }
      const tables = this.ts.tables();
      this.open = { seq: this.nextSeq++, startPts: pts, startedAt: receivedAt, chunks: [tables], bytes: 0 };
      this.open.bytes = tables.length;
    }
    const cur = this.open;
    const packets = this.ts.accessUnit(nals, pts, key);
    cur.chunks.push(packets);
    cur.bytes += packets.length;
    if (cur.bytes > this.maxBytes) {
      // No keyframe for far too long: drop it and wait for the next keyframe.
      this.dropped += cur.chunks.length - 1;
      this.open = null;
    }
    return closed;
  }

  private close(open: Open, endPts: number): Segment {
    const duration = Math.max(0.001, (endPts - open.startPts) / 90000);
    const seg: Segment = {
      seq: open.seq,
      name: segmentName(open.seq),
      startPts: open.startPts,
      startedAt: open.startedAt,
      duration,
      data: Buffer.concat(open.chunks, open.bytes),
    };
    this.open = null;
    this.segments.push(seg);
    // EXT-X-TARGETDURATION must never shrink while a client plays (RFC 8216 §6.2.1).
    this.maxDurationS = Math.max(this.maxDurationS, Math.round(duration));
    while (this.segments.length > this.listSize + this.keepAfter) this.segments.shift();
    return seg;
  }

  /** Sequence number the next segment will get. */
  get sequence(): number {
    return this.nextSeq;
  }

  get listed(): readonly Segment[] {
    return this.segments.slice(-this.listSize);
  }

  get bytes(): number {
    return this.segments.reduce((n, s) => n + s.data.length, 0) + (this.open?.bytes ?? 0);
  }

  get count(): number {
    return this.segments.length;
  }

  segment(seq: number): Segment | undefined {
    return this.segments.find((s) => s.seq === seq);
  }

  /** The live media playlist (RFC 8216), or null before the first segment is complete. */
  playlist(): string | null {
    const list = this.listed;
    if (!list.length) return null;
    const lines = [
      '#EXTM3U',
      '#EXT-X-VERSION:3',
      `#EXT-X-TARGETDURATION:${this.maxDurationS}`,
      `#EXT-X-MEDIA-SEQUENCE:${list[0].seq}`,
      '#EXT-X-INDEPENDENT-SEGMENTS',
    ];
    for (const s of list) {
      lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(s.startedAt).toISOString()}`);
      lines.push(`#EXTINF:${s.duration.toFixed(3)},`);
      lines.push(s.name);
    }
    return `${lines.join('\n')}\n`;
  }
}
