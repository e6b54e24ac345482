/**
 * The camera wall's messages as the browser reads them (server side: src/wall/wire.ts; the layout
 * is described there and in docs/wall.md). Pure: no DOM, so tests run it in Node too.
 */

import type { SourceState } from '../../src/output/api-types';

export const PICTURE_KIND = 1;

export interface Picture {
  printer: string;
  seq: number;
  /** When bambucam received the picture, ms since the epoch. */
  receivedAt: number;
  jpeg: Uint8Array;
}

const utf8 = new TextDecoder();

/** One binary picture message. Throws on anything else. */
export function decodePicture(msg: Uint8Array): Picture {
  if (msg.length < 2 || msg[0] !== PICTURE_KIND) throw new Error('wall: not a picture message');
  const len = msg[1];
  if (msg.length < 14 + len) throw new Error('wall: picture message too short');
  const view = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
  return {
    printer: utf8.decode(msg.subarray(2, 2 + len)),
    seq: view.getUint32(2 + len),
    receivedAt: view.getFloat64(6 + len),
    jpeg: msg.subarray(14 + len),
  };
}

/** A printer's facts as the wall's text messages carry them. */
export interface WallPrinterFacts {
  id: string;
  state: SourceState;
  reason: string | null;
  model: string;
  camera: 'chamber' | 'rtsps' | null;
  fps: number;
}

export interface WallPrinter extends WallPrinterFacts {
  name: string;
  /** Relative to the gateway's base URL. */
  urls: { snapshot: string; mjpeg: string; hls: string; whep?: string };
}

export type ServerText =
  | { type: 'hello'; version: number; widths: number[]; printers: WallPrinter[] }
  | { type: 'status'; printers: WallPrinterFacts[] }
  | { type: 'error'; printer?: string; message: string };

export interface TileWish {
  printer: string;
  /** Device pixels; the gateway rounds up to one of its widths, never above the picture's own. */
  width?: number;
  fps?: number;
}

export type ClientText =
  | { type: 'subscribe'; tiles: TileWish[] }
  | { type: 'unsubscribe'; printers?: string[] };
