/**
 * GET /printers/<id>/snapshot.jpg: the latest frame at once, or the next one (bounded wait).
 * Resized variants (?width=&height=&quality=) are computed once per frame and shared by all requests;
 * they are never larger than the source, snapped to a few widths and qualities, and made at most
 * RESIZE_CONCURRENCY at a time with a short queue: beyond it the answer is 503 with Retry-After.
 */
import type { Request, Response } from 'express';
import sharp from 'sharp';
import type { Frame } from '../../hub/frame';
import type { PrinterMedia } from '../../output/printer-media';
import { ensureJfif, insertComment, jpegSize, readComment } from '../../protocol/jpeg';
import { BadParam, numberParam, sendError } from './reply';
import { QueueFull, WorkQueue } from './work-queue';

export const SNAPSHOT_WAIT_MS = 5000;
const MAX_VARIANTS_PER_FRAME = 8;
/**
 * Widths a resized picture may have: a request is snapped down to one of them, so few distinct
 * sizes exist per frame and the cache serves them (issue 13, finding 5).
 */
export const WIDTH_BUCKETS = [
  16, 32, 64, 128, 160, 240, 320, 480, 640, 800, 960, 1280, 1600, 1920, 2560, 3840,
];
/** Qualities are snapped down to a multiple of this. */
export const QUALITY_STEP = 10;
export const DEFAULT_QUALITY = 80;
/** Resizes running at once (libvips uses several threads for each) and waiting; more get 503. */
export const RESIZE_CONCURRENCY = 2;
export const RESIZE_QUEUE = 8;
export const RESIZE_RETRY_AFTER_S = 1;

/**
 * libvips's operation cache (sharp's default: up to 50 MB and 100 operations) never hits here: every
 * resize reads a new picture, and the per-frame variants above already share what can be shared.
 * It only held memory: after a minute of 40 distinct sizes a second, the soak's gateway kept +47 MiB
 * RSS while idle with the cache, +17 MiB without (docs/benchmarks.md, Soak).
 */
sharp.cache(false);

/** What a request asks for: a box the picture must fit in, and a quality. */
export interface VariantRequest {
  width?: number;
  height?: number;
  quality?: number;
}

/** What is made: the original (null width) or one bucket width, at one quality (null: untouched). */
export interface Variant {
  width: number | null;
  quality: number | null;
}

/**
 * The variant served for a request on a picture of `source` size: never wider or taller than the
 * source or the box, the width snapped down to a bucket, the quality down to a step.
 */
export function planVariant(req: VariantRequest, source: { width: number; height: number } | null): Variant {
  const quality =
    req.quality === undefined
      ? null
      : Math.max(QUALITY_STEP, Math.floor(req.quality / QUALITY_STEP) * QUALITY_STEP);
  if ((req.width === undefined && req.height === undefined) || !source) return { width: null, quality };
  let fit = Math.min(req.width ?? Number.POSITIVE_INFINITY, source.width);
  if (req.height !== undefined) fit = Math.min(fit, Math.floor((req.height * source.width) / source.height));
  const bucket = [...WIDTH_BUCKETS].reverse().find((b) => b <= fit) ?? WIDTH_BUCKETS[0];
  if (bucket >= source.width) return { width: null, quality };
  return { width: bucket, quality: quality ?? DEFAULT_QUALITY };
}

/** Per-frame cache of resized JPEGs; entries vanish with their frame (WeakMap). */
export class SnapshotResizer {
  private readonly cache = new WeakMap<Frame, Map<string, Promise<Buffer>>>();
  private readonly sizes = new WeakMap<Frame, { width: number; height: number } | null>();
  readonly queue: WorkQueue;
  resizes = 0;

  constructor(concurrency = RESIZE_CONCURRENCY, maxWaiting = RESIZE_QUEUE) {
    this.queue = new WorkQueue(concurrency, maxWaiting);
  }

  /** The frame's picture size, read once from its JPEG headers. */
  sourceSize(frame: Frame): { width: number; height: number } | null {
    let size = this.sizes.get(frame);
    if (size === undefined) {
      size = jpegSize(frame.jpeg);
      this.sizes.set(frame, size);
    }
    return size;
  }

  /** The JPEG for a request; rejects with QueueFull when too many resizes run or wait already. */
  get(frame: Frame, req: VariantRequest): Promise<Buffer> {
    return this.variant(frame, planVariant(req, this.sourceSize(frame)));
  }

  variant(frame: Frame, v: Variant): Promise<Buffer> {
    if (v.width === null && v.quality === null) return Promise.resolve(frame.jpeg);
    let variants = this.cache.get(frame);
    if (!variants) {
      variants = new Map();
      this.cache.set(frame, variants);
    }
    const key = `${v.width ?? ''}q${v.quality ?? ''}`;
    let out = variants.get(key);
    if (!out) {
      out = this.queue.run(() => this.make(frame, v));
      if (variants.size >= MAX_VARIANTS_PER_FRAME) variants.delete(variants.keys().next().value as string);
      variants.set(key, out);
      out.catch(() => variants?.delete(key));
    }
    return out;
  }

  private async make(frame: Frame, v: Variant): Promise<Buffer> {
    this.resizes++;
    let img = sharp(frame.jpeg);
    if (v.width !== null) img = img.resize(v.width, undefined, { withoutEnlargement: true });
    const jpeg = await img.jpeg({ quality: v.quality ?? DEFAULT_QUALITY }).toBuffer();
    // Keep the source's comment (the simulator's timestamp tag), so a picture's age stays readable.
    const comment = readComment(frame.jpeg);
    return comment === null ? jpeg : insertComment(ensureJfif(jpeg), comment);
  }
}

export function snapshotHandler(resizer: SnapshotResizer, waitMs = SNAPSHOT_WAIT_MS) {
  return async (req: Request, res: Response, printer: PrinterMedia): Promise<void> => {
    let variant: VariantRequest;
    try {
      variant = {
        width: numberParam(req.query, 'width', 16, 3840),
        height: numberParam(req.query, 'height', 16, 2160),
        quality: numberParam(req.query, 'quality', 1, 100),
      };
    } catch (err) {
      if (err instanceof BadParam) return sendError(res, 400, 'bad_parameter', err.message);
      throw err;
    }
    // The printer counts the snapshot in its JPEG hub (output 'snapshot').
    const frame = await printer.snapshot(waitMs);
    if (!frame) {
      const facts = printer.facts();
      const why = facts.reason ?? facts.state;
      return sendError(
        res,
        503,
        'no_frame',
        `no picture from ${printer.id} within ${waitMs / 1000} s: ${why}`,
      );
    }
    let jpeg: Buffer;
    try {
      jpeg = await resizer.get(frame, variant);
    } catch (err) {
      if (!(err instanceof QueueFull)) throw err;
      res.set('Retry-After', String(RESIZE_RETRY_AFTER_S));
      return sendError(res, 503, 'busy', 'too many pictures are being resized; try again in a second');
    }
    res.set({
      'Content-Type': 'image/jpeg',
      'Content-Length': String(jpeg.length),
      'Cache-Control': 'no-store',
      'Last-Modified': new Date(frame.receivedAt).toUTCString(),
      'X-Frame-Age-Ms': String(Date.now() - frame.receivedAt),
    });
    res.end(jpeg);
  };
}
