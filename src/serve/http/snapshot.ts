/**
 * GET /printers/<id>/snapshot.jpg: the latest frame at once, or the next one (bounded wait).
 * Resized variants (?width=&height=&quality=) are computed once per frame and shared by all requests.
 */
import type { Request, Response } from 'express';
import sharp from 'sharp';
import type { Frame } from '../../hub/frame';
import type { PrinterMedia } from '../../output/printer-media';
import { BadParam, numberParam, sendError } from './reply';

export const SNAPSHOT_WAIT_MS = 5000;
const MAX_VARIANTS_PER_FRAME = 8;

interface Variant {
  width?: number;
  height?: number;
  quality?: number;
}

/** Per-frame cache of resized JPEGs; entries vanish with their frame (WeakMap). */
export class SnapshotResizer {
  private readonly cache = new WeakMap<Frame, Map<string, Promise<Buffer>>>();
  resizes = 0;

  get(frame: Frame, v: Variant): Promise<Buffer> {
    if (v.width === undefined && v.height === undefined && v.quality === undefined)
      return Promise.resolve(frame.jpeg);
    let variants = this.cache.get(frame);
    if (!variants) {
      variants = new Map();
      this.cache.set(frame, variants);
    }
    const key = `${v.width ?? ''}x${v.height ?? ''}q${v.quality ?? ''}`;
    let out = variants.get(key);
    if (!out) {
      if (variants.size >= MAX_VARIANTS_PER_FRAME) variants.delete(variants.keys().next().value as string);
      this.resizes++;
      let img = sharp(frame.jpeg);
      if (v.width !== undefined || v.height !== undefined)
        img = img.resize(v.width, v.height, { fit: 'inside' });
      out = img.jpeg({ quality: v.quality ?? 80 }).toBuffer();
      variants.set(key, out);
      out.catch(() => variants?.delete(key));
    }
    return out;
  }
}

export function snapshotHandler(resizer: SnapshotResizer, waitMs = SNAPSHOT_WAIT_MS) {
  return async (req: Request, res: Response, printer: PrinterMedia): Promise<void> => {
    let variant: Variant;
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
    const jpeg = await resizer.get(frame, variant);
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
