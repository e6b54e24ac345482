import type { Response } from 'express';

/** The card runs on Home Assistant's origin and fetches with hls.js: allow any origin to read. */
export function allowCors(res: Response): void {
  res.set('Access-Control-Allow-Origin', '*');
  res.set('Access-Control-Expose-Headers', 'Content-Length, Date');
}
