/**
 * The HLS output: one in-process muxer per printer (src/hls/hls-muxer.ts), started by the first
 * playlist request and stopped when idle, and its routes on the HTTP server:
 * `/printers/<id>/hls/index.m3u8`, its segments and parts, and `/hls/...` for the first printer.
 */
import { Router } from 'express';
import type { Output, OutputContext, OutputFactory, OutputState } from '../output/output';
import { perPrinterRoute } from '../serve/http/per-printer';
import { HlsMuxer } from './hls-muxer';
import { hlsPlaylist, hlsSegment } from './hls-routes';

export class HlsOutput implements Output {
  readonly name = 'hls';
  readonly muxers = new Map<string, HlsMuxer>();

  constructor(ctx: OutputContext) {
    for (const printer of ctx.printers.values()) {
      this.muxers.set(
        printer.id,
        new HlsMuxer({
          stream: printer.h264,
          log: ctx.log.child(printer.id).child('hls'),
          idleStopMs: ctx.tuning.hlsIdleStopMs,
          startWaitMs: ctx.tuning.hlsStartWaitMs,
          // A chamber printer without ffmpeg has no H.264 at all: say so at once.
          unavailable: () => printer.facts().h264Unavailable,
        }),
      );
    }
    const router = Router();
    const route = perPrinterRoute(ctx.printers);
    const muxerOf = (id: string) => this.muxers.get(id) as HlsMuxer;
    route.both(router, 'hls/index.m3u8', (req, res, p) => hlsPlaylist(req, res, muxerOf(p.id)));
    route.both(router, 'hls/:name', (req, res, p) => hlsSegment(req, res, muxerOf(p.id)));
    ctx.http.use(router);
  }

  async start(): Promise<void> {}

  async stop(): Promise<void> {
    for (const muxer of this.muxers.values()) muxer.close();
  }

  status(printerId: string): OutputState | undefined {
    const muxer = this.muxers.get(printerId);
    if (!muxer) return undefined;
    return { state: 'running', ...muxer.toJSON(), urls: { hls: `/printers/${printerId}/hls/index.m3u8` } };
  }

  describe(): string[] {
    return [];
  }
}

export const hlsOutput: OutputFactory = (ctx) => new HlsOutput(ctx);
