/**
 * HLS routes: `hls/index.m3u8` (starts the printer's muxer, waits for a playable playlist) and
 * `hls/seg<N>.ts`. Segment names are looked up by sequence number in the muxer's memory, never
 * joined to a file path, so no request can reach anything else.
 */
import type { Request, Response } from 'express';
import { HlsUnavailableError } from '../../hls/hls-muxer';
import { parseSegmentName } from '../../hls/segmenter';
import type { PrinterWorker } from '../../worker';
import { sendError } from './reply';

/** The card runs on Home Assistant's origin and fetches with hls.js: allow any origin to read. */
export function allowCors(res: Response): void {
  res.set('Access-Control-Allow-Origin', '*');
  res.set('Access-Control-Expose-Headers', 'Content-Length, Date');
}

export async function hlsPlaylist(_req: Request, res: Response, worker: PrinterWorker): Promise<void> {
  allowCors(res);
  try {
    const text = await worker.hls.playlist();
    res
      .status(200)
      .set('Content-Type', 'application/vnd.apple.mpegurl')
      // A live playlist changes every segment: caches must ask again each time.
      .set('Cache-Control', 'no-cache, no-store')
      .send(text);
  } catch (err) {
    if (!(err instanceof HlsUnavailableError)) throw err;
    res.set('Retry-After', '5');
    sendError(res, 503, 'hls_unavailable', err.message);
  }
}

export function hlsSegment(req: Request, res: Response, worker: PrinterWorker): void {
  allowCors(res);
  const seq = parseSegmentName(String(req.params.name));
  const seg = seq === null ? undefined : worker.hls.segment(seq);
  if (!seg) {
    sendError(res, 404, 'not_found', 'no such HLS segment (it may have left the window)');
    return;
  }
  res
    .status(200)
    .set('Content-Type', 'video/mp2t')
    // A segment never changes once listed; it leaves the window within seconds.
    .set('Cache-Control', 'public, max-age=60, immutable')
    .send(seg.data);
}
