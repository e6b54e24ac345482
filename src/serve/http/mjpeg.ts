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
import { BadParam, numberParam, sendError } from './reply';

export const MJPEG_BOUNDARY = 'bambucam-frame';
export const MJPEG_RESEND_MS = 5000;
const BOUNDARY_LINE = Buffer.from(`\r\n--${MJPEG_BOUNDARY}\r\n`);

/**
 * A frame as one multipart part (headers, JPEG, closing boundary), built once per frame and shared by
 * every viewer: one write per viewer instead of three.
 */
const parts = new WeakMap<Frame, Buffer>();
function partOf(frame: Frame): Buffer {
  let part = parts.get(frame);
  if (!part) {
    const head = Buffer.from(`Content-Type: image/jpeg\r\nContent-Length: ${frame.jpeg.length}\r\n\r\n`);
    part = Buffer.concat([head, frame.jpeg, BOUNDARY_LINE]);
    parts.set(frame, part);
  }
  return part;
}

export function mjpegHandler(resendMs = MJPEG_RESEND_MS) {
  return (req: Request, res: Response, printer: PrinterMedia): void => {
    let fps: number | undefined;
    try {
      fps = numberParam(req.query, 'fps', 0.1, 60, false);
    } catch (err) {
      if (!(err instanceof BadParam)) throw err;
      sendError(res, 400, 'bad_parameter', err.message);
      return;
    }
    res.socket?.setNoDelay(true);
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
    const sub = printer.jpeg.subscribe(
      {
        send(frame: Frame, done: () => void) {
          if (res.write(partOf(frame))) done();
          else res.once('drain', done);
        },
        close() {
          res.destroy();
        },
        backlogBytes: () => res.writableLength,
      },
      { output: 'mjpeg', minIntervalMs: fps ? 1000 / fps : undefined, repeatAfterMs: resendMs },
    );
    res.once('close', () => sub.unsubscribe());
  };
}
