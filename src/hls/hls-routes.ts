/**
 * HLS routes: `hls/index.m3u8` (starts the printer's muxer, waits for a playable playlist; LL-HLS
 * blocking reload with `_HLS_msn`/`_HLS_part`), `hls/seg<N>.ts` and its parts `hls/seg<N>.<P>.ts`. Segment names are looked up by sequence number in the muxer's memory, never
 * joined to a file path, so no request can reach anything else.
 */
import type { Request, Response } from 'express';
import { sendError } from '../serve/http/reply';
import { type HlsMuxer, HlsUnavailableError } from './hls-muxer';
import { parseSegmentName } from './segmenter';

/** An LL-HLS delivery directive (`_HLS_msn`, `_HLS_part`): a small non-negative integer or null. */
function directive(query: Request['query'], name: string): number | null {
  const raw = query[name];
  return typeof raw === 'string' && /^\d{1,9}$/.test(raw) ? Number(raw) : null;
}

export async function hlsPlaylist(req: Request, res: Response, muxer: HlsMuxer): Promise<void> {
  try {
    const msn = directive(req.query, '_HLS_msn');
    const playlist = await muxer.playlist(msn, msn === null ? null : directive(req.query, '_HLS_part'));
    const token = typeof req.query.token === 'string' ? req.query.token : null;
    const text = token ? withToken(playlist, token) : playlist;
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

export async function hlsSegment(req: Request, res: Response, muxer: HlsMuxer): Promise<void> {
  const name = parseSegmentName(String(req.params.name));
  const seg =
    name === null
      ? undefined
      : name.part === null
        ? muxer.segment(name.seq)
        : await muxer.part(name.seq, name.part);
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

/**
 * A playlist fetched with `?token=` names its segments and parts with the same token, so players that
 * cannot send headers (the card's hls.js on Home Assistant's origin, VLC) fetch them too.
 */
export function withToken(playlist: string, token: string): string {
  const q = `?token=${encodeURIComponent(token)}`;
  return playlist
    .split('\n')
    .map((line) => {
      if (line && !line.startsWith('#')) return `${line}${q}`;
      return line.replace(/URI="([^"?]+)"/g, (_m, uri: string) => `URI="${uri}${q}"`);
    })
    .join('\n');
}
