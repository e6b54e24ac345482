/**
 * Tile pictures: the printer's own JPEG, or a smaller copy made once per frame and width and shared
 * by every wall viewer that wants that width (the snapshot route's per-frame cache does the sharing).
 */
import type { Frame } from '../hub/frame';
import { jpegSize } from '../protocol/jpeg';
import { SnapshotResizer } from '../serve/http/snapshot';
import { tileWidth } from './wire';

/** JPEG quality of resized tiles: small pictures, where 75 looks like the source. */
export const TILE_QUALITY = 75;

export class TileResizer {
  private readonly sizes = new WeakMap<Frame, number | null>();
  /** Resized pictures that failed (a JPEG sharp could not read): the original was sent instead. */
  failures = 0;

  constructor(private readonly resizer = new SnapshotResizer()) {}

  /** Resized pictures made (one per frame and width). */
  get resizes(): number {
    return this.resizer.resizes;
  }

  /** The source's width, read once per frame from its header. */
  sourceWidth(frame: Frame): number | null {
    let w = this.sizes.get(frame);
    if (w === undefined) {
      w = jpegSize(frame.jpeg)?.width ?? null;
      this.sizes.set(frame, w);
    }
    return w;
  }

  /** The width this tile is sent at (a bucket), or null for the printer's own picture. */
  widthFor(frame: Frame, requested: number | null): number | null {
    return requested === null ? null : tileWidth(requested, this.sourceWidth(frame));
  }

  /** The picture for a tile that asked for `requested` device pixels (null: the original). */
  async picture(frame: Frame, requested: number | null): Promise<Buffer> {
    const width = this.widthFor(frame, requested);
    if (width === null) return frame.jpeg;
    try {
      return await this.resizer.get(frame, { width, quality: TILE_QUALITY });
    } catch {
      this.failures++;
      return frame.jpeg;
    }
  }
}
