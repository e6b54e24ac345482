/**
 * The camera wall's wire format over one WebSocket (docs/wall.md). Pure: no I/O.
 *
 * Server → browser, binary, one message per picture:
 *
 *   offset  size  field
 *   0       1     kind: 1 (picture)
 *   1       1     L: length of the printer id in bytes (UTF-8, 1..255)
 *   2       L     printer id
 *   2+L     4     seq: the printer's frame sequence number (uint32, big-endian)
 *   6+L     8     receivedAt: when bambucam received the picture, ms since the epoch (float64, big-endian)
 *   14+L    ...   the JPEG
 *
 * Server → browser, text: JSON `hello`, `status` and `error` messages. Browser → server, text: JSON
 * `subscribe` and `unsubscribe` (parseControl below). The browser's decoder is web/src/wall-client.ts;
 * a unit test checks the two agree.
 */

export const WALL_PROTOCOL_VERSION = 1;
export const PICTURE_KIND = 1;
/** Widths a tile may get; a request is rounded up to one of these, never above the source's width. */
export const TILE_WIDTHS: readonly number[] = [320, 480, 640, 960];
export const MAX_TILE_FPS = 30;

/** The bytes before the JPEG of one picture message. */
export function encodePictureHeader(printerId: string, seq: number, receivedAt: number): Buffer {
  const id = Buffer.from(printerId, 'utf8');
  if (id.length === 0 || id.length > 255) throw new Error(`wall: printer id of ${id.length} bytes`);
  const head = Buffer.allocUnsafe(14 + id.length);
  head[0] = PICTURE_KIND;
  head[1] = id.length;
  id.copy(head, 2);
  head.writeUInt32BE(seq >>> 0, 2 + id.length);
  head.writeDoubleBE(receivedAt, 6 + id.length);
  return head;
}

export interface WallPicture {
  printer: string;
  seq: number;
  receivedAt: number;
  jpeg: Buffer;
}

/** Read one picture message (tests and Node clients). Throws on anything else. */
export function decodePicture(msg: Buffer): WallPicture {
  if (msg.length < 2 || msg[0] !== PICTURE_KIND) throw new Error('wall: not a picture message');
  const len = msg[1];
  if (msg.length < 14 + len) throw new Error('wall: picture message too short');
  return {
    printer: msg.subarray(2, 2 + len).toString('utf8'),
    seq: msg.readUInt32BE(2 + len),
    receivedAt: msg.readDoubleBE(6 + len),
    jpeg: msg.subarray(14 + len),
  };
}

/** What a tile asks for: a printer, optionally a width in device pixels and an fps cap. */
export interface TileRequest {
  printer: string;
  width: number | null;
  fps: number | null;
}

export type ControlMessage =
  | { type: 'subscribe'; tiles: TileRequest[] }
  /** printers null: every tile of this connection. */
  | { type: 'unsubscribe'; printers: string[] | null };

export class ControlError extends Error {}

function optionalNumber(v: unknown, name: string, min: number, max: number): number | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max)
    throw new ControlError(`${name} must be a number from ${min} to ${max}`);
  return v;
}

function printerId(v: unknown): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > 255)
    throw new ControlError('printer must be a printer id (text)');
  return v;
}

/** Parse a browser's JSON control message; throws ControlError with a message for the browser. */
export function parseControl(text: string): ControlMessage {
  let msg: unknown;
  try {
    msg = JSON.parse(text);
  } catch {
    throw new ControlError('control messages are JSON');
  }
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg))
    throw new ControlError('a control message is a JSON object with a type');
  const m = msg as Record<string, unknown>;
  if (m.type === 'subscribe') {
    if (!Array.isArray(m.tiles)) throw new ControlError('subscribe needs tiles: [{ printer, width?, fps? }]');
    const tiles = m.tiles.map((t): TileRequest => {
      if (typeof t !== 'object' || t === null)
        throw new ControlError('each tile is { printer, width?, fps? }');
      const tile = t as Record<string, unknown>;
      const width = optionalNumber(tile.width, 'width', 1, 16384);
      return {
        printer: printerId(tile.printer),
        width: width === null ? null : Math.round(width),
        fps: optionalNumber(tile.fps, 'fps', 0.01, MAX_TILE_FPS),
      };
    });
    return { type: 'subscribe', tiles };
  }
  if (m.type === 'unsubscribe') {
    if (m.printers === undefined || m.printers === null) return { type: 'unsubscribe', printers: null };
    if (!Array.isArray(m.printers))
      throw new ControlError('unsubscribe takes printers: [id, ...] or nothing');
    return { type: 'unsubscribe', printers: m.printers.map(printerId) };
  }
  throw new ControlError(
    `unknown control message type ${JSON.stringify(m.type)}; expected subscribe or unsubscribe`,
  );
}

/**
 * The width a tile gets: the smallest bucket at least as wide as asked (so the picture is never
 * blurrier than the tile), or null (the printer's own picture) when none is or when the bucket
 * would not be smaller than the source.
 */
export function tileWidth(requested: number | null, sourceWidth: number | null): number | null {
  if (requested === null) return null;
  const bucket = TILE_WIDTHS.find((w) => w >= requested);
  if (bucket === undefined) return null;
  if (sourceWidth !== null && bucket >= sourceWidth) return null;
  return bucket;
}
