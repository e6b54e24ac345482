/**
 * HLS segmenter: H.264 access units in, MPEG-TS segments and a live media playlist out, all in
 * memory. A segment starts on a keyframe and is closed at the first keyframe at least
 * `targetMs` after its start, so segments are one GOP long when the GOP is ~1 s. Only a short
 * window is kept: old segments are dropped, so memory is bounded whatever the viewers do.
 *
 * Low-Latency HLS (RFC 8216bis §4.4.4.9): each segment is also cut into partial segments of a
 * whole number of pictures (~`partTargetMs`), listed with EXT-X-PART for the last segments and
 * the one being made; the first part of a segment (PAT, PMT, keyframe) is INDEPENDENT. Players that
 * ignore parts use the whole segments as before.
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
  /** Wanted partial segment length (LL-HLS); 0 disables parts. */
  partTargetMs?: number;
}

export interface Part {
  readonly index: number;
  readonly name: string;
  readonly duration: number;
  readonly independent: boolean;
  readonly data: Buffer;
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
  /** Its parts while it is recent (dropped a little later to save memory). */
  parts: Part[] | null;
}

export const SEGMENT_TARGET_MS = 1000;
export const LIST_SIZE = 5;
export const PART_TARGET_MS = 300;
/** Segments (before the open one) whose parts are listed and kept. */
const PART_SEGMENTS = 2;
const KEEP_AFTER = 3;
const MAX_SEGMENT_BYTES = 16 * 1024 * 1024;
/** PTS of the first picture: a little room so that nothing is ever negative. */
const PTS_START = 90_000;

export function segmentName(seq: number, part?: number): string {
  return part === undefined ? `seg${seq}.ts` : `seg${seq}.${part}.ts`;
}

/** The segment (and part) named by a file name, or null for anything else. */
export function parseSegmentName(name: string): { seq: number; part: number | null } | null {
  const m = /^seg(\d{1,15})(?:\.(\d{1,4}))?\.ts$/.exec(name);
  return m ? { seq: Number(m[1]), part: m[2] === undefined ? null : Number(m[2]) } : null;
}

interface Open {
  seq: number;
  startPts: number;
  startedAt: number;
  parts: Part[];
  /** The part being filled. */
  chunks: Buffer[];
  bytes: number;
  partStartPts: number;
  partPictures: number;
  bytesTotal: number;
}

export class Segmenter {
  private readonly ts = new TsMuxer();
  private readonly segments: Segment[] = [];
  private open: Open | null = null;
  private lastTs: number | null = null;
  private extTs = 0;
  private nextSeq: number;
  private maxDurationS = 1;
  private maxPartS = 0;
  private frameTicks = 0;
  private readonly targetTicks: number;
  private readonly partTicks: number;
  private readonly listSize: number;
  private readonly keepAfter: number;
  private readonly maxBytes: number;
  /** Wall clock ↔ PTS anchor: program date-times follow the media timeline (see startedAtFor). */
  private anchor: { wall: number; pts: number } | null = null;
  private lastStartedAt = 0;
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
    this.partTicks = (opts.partTargetMs ?? PART_TARGET_MS) * 90;
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

  /** Pictures per part: a whole number of frames, about `partTargetMs` long. */
  private picturesPerPart(): number {
    if (!this.partTicks || !this.frameTicks) return Number.POSITIVE_INFINITY;
    return Math.max(1, Math.round(this.partTicks / this.frameTicks));
  }

  /** Add one access unit. Returns what it closed: a segment and/or a part. */
  push(
    nals: readonly Buffer[],
    timestamp: number,
    key: boolean,
    receivedAt: number,
  ): { segment: Segment | null; part: Part | null } {
    const prev = this.lastTs === null ? null : this.extTs;
    const pts = this.unwrap(timestamp);
    if (prev !== null && pts > prev && pts - prev < 90_000) this.frameTicks = pts - prev;
    this.lastPictureAt = receivedAt;
    let segment: Segment | null = null;
    let part: Part | null = null;
    const open = this.open;
    if (open && key && pts - open.startPts >= this.targetTicks - 4500) {
      part = this.closePart(open, pts);
      segment = this.close(open, pts);
    } else if (open && open.partPictures >= this.picturesPerPart()) {
      part = this.closePart(open, pts);
    }
    if (!this.open) {
      if (!key) {
        this.dropped++;
        return { segment, part };
      }
      const tables = this.ts.tables();
      this.open = {
        seq: this.nextSeq++,
        startPts: pts,
        startedAt: this.startedAtFor(pts, receivedAt),
        parts: [],
        chunks: [tables],
        bytes: tables.length,
        partStartPts: pts,
        partPictures: 0,
        bytesTotal: tables.length,
      };
    }
    const cur = this.open;
    const packets = this.ts.accessUnit(nals, pts, key);
    cur.chunks.push(packets);
    cur.bytes += packets.length;
    cur.bytesTotal += packets.length;
    cur.partPictures++;
    if (cur.bytesTotal > this.maxBytes) {
      // No keyframe for far too long: drop it and wait for the next keyframe.
      this.dropped += cur.partPictures;
      this.open = null;
    }
    return { segment, part };
  }

  /**
   * EXT-X-PROGRAM-DATE-TIME of a segment starting at `pts`: the wall clock of the anchor picture plus
   * media time, so that date-times and durations agree exactly (hls.js places parts by both; arrival
   * jitter in the dates made it misplace them). Re-anchored when the two clocks drift apart by 1 s.
   */
  private startedAtFor(pts: number, receivedAt: number): number {
    if (this.anchor) {
      const wall = Math.round(this.anchor.wall + (pts - this.anchor.pts) / 90);
      if (Math.abs(wall - receivedAt) < 1000 && wall > this.lastStartedAt) return this.noteStart(wall);
    }
    // Re-anchored on arrival (a source that fell behind or jumped), never before the previous
    // segment's date: players require program date-times that only grow.
    const wall = Math.max(receivedAt, this.lastStartedAt + 1);
    this.anchor = { wall, pts };
    return this.noteStart(wall);
  }

  private noteStart(wall: number): number {
    this.lastStartedAt = wall;
    return wall;
  }

  private closePart(open: Open, endPts: number): Part {
    const index = open.parts.length;
    const part: Part = {
      index,
      name: segmentName(open.seq, index),
      duration: Math.max(0.001, (endPts - open.partStartPts) / 90000),
      independent: index === 0,
      data: Buffer.concat(open.chunks, open.bytes),
    };
    open.parts.push(part);
    // EXT-X-PART-INF must not change while playing: only ever grows (a jittery camera).
    this.maxPartS = Math.max(this.maxPartS, part.duration);
    open.chunks = [];
    open.bytes = 0;
    open.partStartPts = endPts;
    open.partPictures = 0;
    return part;
  }

  private close(open: Open, endPts: number): Segment {
    const duration = Math.max(0.001, (endPts - open.startPts) / 90000);
    const seg: Segment = {
      seq: open.seq,
      name: segmentName(open.seq),
      startPts: open.startPts,
      startedAt: open.startedAt,
      duration,
      data: Buffer.concat(open.parts.map((p) => p.data)),
      parts: open.parts,
    };
    this.open = null;
    this.segments.push(seg);
    // EXT-X-TARGETDURATION must never shrink while a client plays (RFC 8216 §6.2.1).
    this.maxDurationS = Math.max(this.maxDurationS, Math.round(duration));
    while (this.segments.length > this.listSize + this.keepAfter) this.segments.shift();
    const old = this.segments.at(-1 - PART_SEGMENTS);
    if (old) old.parts = null;
    return seg;
  }

  get targetDuration(): number {
    return this.maxDurationS;
  }

  /** Sequence number the next segment will get. */
  get sequence(): number {
    return this.nextSeq;
  }

  get listed(): readonly Segment[] {
    return this.segments.slice(-this.listSize);
  }

  get bytes(): number {
    const parts = (list: readonly Part[] | null) => (list ?? []).reduce((n, p) => n + p.data.length, 0);
    return (
      this.segments.reduce((n, s) => n + s.data.length + parts(s.parts), 0) +
      (this.open ? this.open.bytes + parts(this.open.parts) : 0)
    );
  }

  /** A part of a recent or the open segment. */
  part(seq: number, index: number): Part | undefined {
    if (this.open?.seq === seq) return this.open.parts[index];
    return this.segment(seq)?.parts?.[index];
  }

  /**
   * Does the playlist already contain segment `msn` (and its part `part`)? What a blocking
   * playlist request (`_HLS_msn`, `_HLS_part`) waits for.
   */
  has(msn: number, part: number | null): boolean {
    const last = this.segments.at(-1);
    if (last && last.seq >= msn) {
      if (last.seq > msn || part === null) return true;
      return (last.parts?.length ?? Number.POSITIVE_INFINITY) > part;
    }
    if (part === null || !this.open || this.open.seq !== msn)
      return this.open !== null && this.open.seq > msn;
    return this.open.parts.length > part;
  }

  /** Is this the part the playlist's EXT-X-PRELOAD-HINT names (the next one to be made)? */
  isNextPart(seq: number, index: number): boolean {
    return this.open
      ? this.open.seq === seq && this.open.parts.length === index
      : seq === this.nextSeq && index === 0;
  }

  private get partTargetS(): number {
    return Math.max(this.maxPartS, this.partTicks / 90000);
  }

  get count(): number {
    return this.segments.length;
  }

  segment(seq: number): Segment | undefined {
    return this.segments.find((s) => s.seq === seq);
  }

  /** The live media playlist (RFC 8216, with LL-HLS parts), or null before the first segment is complete. */
  playlist(): string | null {
    const list = this.listed;
    if (!list.length) return null;
    const lowLatency = this.partTicks > 0 && this.maxPartS > 0;
    const partTarget = this.partTargetS;
    const lines = [
      '#EXTM3U',
      `#EXT-X-VERSION:${lowLatency ? 6 : 3}`,
      `#EXT-X-TARGETDURATION:${this.maxDurationS}`,
    ];
    if (lowLatency) {
      lines.push(`#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=${(3 * partTarget).toFixed(3)}`);
      lines.push(`#EXT-X-PART-INF:PART-TARGET=${partTarget.toFixed(3)}`);
    }
    lines.push(`#EXT-X-MEDIA-SEQUENCE:${list[0].seq}`, '#EXT-X-INDEPENDENT-SEGMENTS');
    const partLines = (parts: readonly Part[]) => {
      for (const p of parts)
        lines.push(
          `#EXT-X-PART:DURATION=${p.duration.toFixed(3)},URI="${p.name}"${p.independent ? ',INDEPENDENT=YES' : ''}`,
        );
    };
    for (const s of list) {
      lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(s.startedAt).toISOString()}`);
      if (lowLatency && s.parts) partLines(s.parts);
      lines.push(`#EXTINF:${s.duration.toFixed(3)},`);
      lines.push(s.name);
    }
    const open = this.open;
    if (lowLatency && open?.parts.length) partLines(open.parts);
    if (lowLatency) {
      const next = open ? segmentName(open.seq, open.parts.length) : segmentName(this.nextSeq, 0);
      lines.push(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="${next}"`);
    }
    return `${lines.join('\n')}\n`;
  }
}
