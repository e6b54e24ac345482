/**
 * GET /printers/<id>/stream.mjpeg: multipart/x-mixed-replace, one subscriber of the JPEG hub.
 * Every part carries Content-Type and Content-Length (go2rtc and Frigate need them), and the
 * boundary is written right after each picture so browsers paint it at once instead of waiting for
 * the next part. The last frame is re-sent when the camera is slow or down, so Home Assistant (which
 * gives up after 10 s of silence) keeps the stream; the response survives upstream reconnects.
 */
import type { Request, Response } from 'express';
import type { Frame } from '../../hub/frame';
import type { PrinterMedia } from '../../output/printer-media';
import { FreshPacer } from '../pacing/fresh-pacer';
import type { KernelQueues } from '../pacing/kernel-queues';
import { BadParam, numberParam, sendError } from './reply';
import { planVariant, type SnapshotResizer } from './snapshot';

export const MJPEG_BOUNDARY = 'bambucam-frame';
export const MJPEG_RESEND_MS = 5000;
/** A slow viewer gets pictures small enough to reach it within this long at its measured rate. */
export const PICTURE_BUDGET_MS = 1000;
/** Quality of the smaller pictures made for slow viewers. */
const SMALL_QUALITY = 70;
const BOUNDARY_LINE = Buffer.from(`\r\n--${MJPEG_BOUNDARY}\r\n`);

/**
 * A picture as one multipart part (headers, JPEG, closing boundary), built once per picture and
 * shared by every viewer: one write per viewer instead of three.
 */
const parts = new WeakMap<Buffer, Buffer>();
function partOf(jpeg: Buffer): Buffer {
  let part = parts.get(jpeg);
  if (!part) {
    const head = Buffer.from(`Content-Type: image/jpeg\r\nContent-Length: ${jpeg.length}\r\n\r\n`);
    part = Buffer.concat([head, jpeg, BOUNDARY_LINE]);
    parts.set(jpeg, part);
  }
  return part;
}

/**
 * The picture for a viewer that can take about `budget` bytes per picture: the frame itself, or a
 * smaller copy (a width bucket, shared by every viewer that needs it) when the frame is too big.
 * Pixels scale roughly with bytes, so the width shrinks with the square root of the ratio.
 */
function pictureFor(frame: Frame, budget: number | null, resizer: SnapshotResizer): Promise<Buffer> {
  if (budget === null || frame.jpeg.length <= budget) return Promise.resolve(frame.jpeg);
  const source = resizer.sourceSize(frame);
  if (!source) return Promise.resolve(frame.jpeg);
  const width = Math.floor(source.width * Math.sqrt(budget / frame.jpeg.length) * 0.9);
  const variant = planVariant({ width: Math.max(160, width), quality: SMALL_QUALITY }, source);
  if (variant.width === null) return Promise.resolve(frame.jpeg);
  // A full resize queue: this viewer gets the frame as it is rather than nothing.
  return resizer.variant(frame, variant).catch(() => frame.jpeg);
}

export function mjpegHandler(
  resizer: SnapshotResizer,
  kernel: KernelQueues | null,
  resendMs = MJPEG_RESEND_MS,
) {
  return (req: Request, res: Response, printer: PrinterMedia): void => {
    let fps: number | undefined;
    try {
      fps = numberParam(req.query, 'fps', 0.1, 60, false);
    } catch (err) {
      if (!(err instanceof BadParam)) throw err;
      sendError(res, 400, 'bad_parameter', err.message);
      return;
    }
    const socket = res.socket;
    if (!socket) return;
    socket.setNoDelay(true);
    // The stream ends when the connection closes: no chunked framing around every part, which
    // saves four small buffers per frame per viewer.
    res.useChunkedEncodingByDefault = false;
    res.shouldKeepAlive = false;
    res.writeHead(200, {
      'Content-Type': `multipart/x-mixed-replace; boundary=${MJPEG_BOUNDARY}`,
      'Cache-Control': 'no-cache, no-store, must-revalidate',
      Pragma: 'no-cache',
      'X-Accel-Buffering': 'no',
    });
    res.write(`--${MJPEG_BOUNDARY}\r\n`);
    // A delivery ends when the kernel has passed the picture on, so a slow viewer gets fewer, newer
    // (and, below PICTURE_BUDGET_MS per picture, smaller) pictures instead of a queue of old ones.
    const pacer = new FreshPacer(socket, kernel);
    const sub = printer.jpeg.subscribe(
      {
        send(frame: Frame, done: () => void) {
          void pictureFor(frame, pacer.pictureBudget(PICTURE_BUDGET_MS), resizer).then((jpeg) => {
            if (res.destroyed) return;
            const part = partOf(jpeg);
            pacer.deliver(part.length, (written) => res.write(part, (err) => written(!err)), done);
          });
        },
        close() {
          res.destroy();
        },
        backlogBytes: () => res.writableLength,
      },
      { output: 'mjpeg', minIntervalMs: fps ? 1000 / fps : undefined, repeatAfterMs: resendMs },
    );
    res.once('close', () => {
      pacer.close();
      sub.unsubscribe();
    });
  };
}
