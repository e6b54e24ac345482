/**
 * One browser's camera wall: one WebSocket, one tile per printer it shows. Each tile is one reader
 * of that printer's JPEG hub (output 'wall'), so the hub's fps cap, latest-frame-at-once and
 * counters apply per tile, and N tiles of one printer on N pages cost N cheap readers, not N sources.
 *
 * Flow control: a tile keeps at most one pending picture (a newer one replaces it, counted as
 * dropped), and the connection has one picture in flight: the next is chosen only after the socket
 * took the last one (ws' write callback), tiles taking turns oldest-waiting first. A slow browser so
 * gets the newest picture of each tile, never a backlog, and its memory here is bounded by one
 * picture per tile plus one in flight — and the pictures are the hub's shared buffers, not copies.
 */
import type { WebSocket } from 'ws';
import type { Frame } from '../hub/frame';
import type { Subscription } from '../hub/jpeg-hub';
import type { Logger } from '../log';
import type { PrinterMedia } from '../output/printer-media';
import type { TileResizer } from './tile-resizer';
import { ControlError, encodePictureHeader, parseControl, type TileRequest } from './wire';

/** RTSPS printers' tiles come from the decoder: one picture a second is plenty for a tile. */
export const RTSPS_TILE_FPS = 1;
/** Status text messages are skipped while this much is queued for a slow browser. */
const STATUS_SKIP_BUFFERED_BYTES = 64 * 1024;

export interface WallCounters {
  /** Called after each picture the socket took. */
  sent(printerId: string, bytes: number): void;
}

export interface WallConnectionOptions {
  id: number;
  ws: WebSocket;
  remote: string;
  printers: ReadonlyMap<string, PrinterMedia>;
  resizer: TileResizer;
  log: Logger;
  counters: WallCounters;
}

class Tile {
  sub: Subscription | null = null;
  /** The newest picture not yet sent (at most one). */
  pending: Frame | null = null;
  sent = 0;
  dropped = 0;
  constructor(
    readonly printer: PrinterMedia,
    public width: number | null,
    public fps: number | null,
  ) {}
}

interface Flight {
  tile: Tile;
  bytes: number;
  since: number;
}

/** Facts of one printer as the wall's text messages carry them. */
export function printerFacts(p: PrinterMedia): Record<string, unknown> {
  const f = p.facts();
  return {
    id: p.id,
    state: f.state,
    reason: f.reason,
    model: f.model,
    camera: f.camera,
    fps: Math.round(f.fps * 100) / 100,
  };
}

export class WallConnection {
  readonly since = Date.now();
  private readonly tiles = new Map<string, Tile>();
  /** Tiles with a pending picture, in the order they started waiting. */
  private readonly ready = new Set<Tile>();
  private inFlight: Flight | null = null;
  private closed = false;
  /** Answered the last ping (the output's heartbeat). */
  alive = true;
  picturesSent = 0;
  bytesSent = 0;
  picturesDropped = 0;

  constructor(private readonly opts: WallConnectionOptions) {
    const { ws } = opts;
    ws.on('message', (data, isBinary) => this.onMessage(data as Buffer, isBinary));
    ws.on('pong', () => {
      this.alive = true;
    });
    ws.on('close', () => this.dispose());
    ws.on('error', (err) => opts.log.debug(`socket error: ${err.message}`));
  }

  get id(): number {
    return this.opts.id;
  }

  get tileCount(): number {
    return this.tiles.size;
  }

  hasTile(printerId: string): boolean {
    return this.tiles.has(printerId);
  }

  /** ms the picture in flight has waited for the socket, or 0. */
  stuckFor(now = Date.now()): number {
    return this.inFlight ? now - this.inFlight.since : 0;
  }

  /** The pending picture of one printer's tile (0 or 1) and its bytes. */
  pendingOf(printerId: string): { pictures: number; bytes: number } {
    const t = this.tiles.get(printerId);
    return t?.pending ? { pictures: 1, bytes: t.pending.jpeg.length } : { pictures: 0, bytes: 0 };
  }

  /** Bytes held for this browser: pending pictures, the one in flight and what the socket queued. */
  memory(): { pendingPictures: number; pendingBytes: number; inFlightBytes: number; bufferedBytes: number } {
    let pendingPictures = 0;
    let pendingBytes = 0;
    for (const t of this.tiles.values()) {
      if (!t.pending) continue;
      pendingPictures++;
      pendingBytes += t.pending.jpeg.length;
    }
    return {
      pendingPictures,
      pendingBytes,
      inFlightBytes: this.inFlight?.bytes ?? 0,
      bufferedBytes: this.opts.ws.bufferedAmount,
    };
  }

  send(message: object): void {
    if (this.closed) return;
    this.opts.ws.send(JSON.stringify(message));
  }

  /** Facts of the printers this browser shows (or of `ids`), unless the socket is backed up. */
  sendStatus(ids?: string[]): void {
    const list = ids ?? [...this.tiles.keys()];
    if (this.closed || list.length === 0 || this.opts.ws.bufferedAmount > STATUS_SKIP_BUFFERED_BYTES) return;
    const printers = list.flatMap((id) => {
      const p = this.opts.printers.get(id);
      return p ? [printerFacts(p)] : [];
    });
    this.send({ type: 'status', printers });
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    if (this.closed) return;
    if (isBinary) {
      this.refuse('binary messages are not accepted; send JSON control messages');
      return;
    }
    let msg: ReturnType<typeof parseControl>;
    try {
      msg = parseControl(data.toString('utf8'));
    } catch (err) {
      if (!(err instanceof ControlError)) throw err;
      this.refuse(err.message);
      return;
    }
    if (msg.type === 'subscribe') {
      const added: string[] = [];
      for (const t of msg.tiles) if (this.subscribe(t)) added.push(t.printer);
      this.sendStatus(added);
    } else {
      for (const id of msg.printers ?? [...this.tiles.keys()]) this.unsubscribe(id);
    }
  }

  /** A malformed message ends this connection (never the process), with the reason for the browser. */
  private refuse(message: string): void {
    this.opts.log.warn(`${this.opts.remote}: ${message}; closing this wall connection`);
    this.send({ type: 'error', message });
    this.opts.ws.close(1008, message.slice(0, 120));
    this.dispose();
  }

  /** Add or update a tile; true when it is new. */
  private subscribe(req: TileRequest): boolean {
    const printer = this.opts.printers.get(req.printer);
    if (!printer) {
      this.send({
        type: 'error',
        printer: req.printer,
        message: `no printer with id "${req.printer}"; known: ${[...this.opts.printers.keys()].join(', ') || 'none'}`,
      });
      return false;
    }
    const existing = this.tiles.get(req.printer);
    if (existing) {
      existing.width = req.width;
      if (existing.fps !== req.fps) {
        existing.fps = req.fps;
        this.attach(existing);
      }
      return false;
    }
    const tile = new Tile(printer, req.width, req.fps);
    this.tiles.set(req.printer, tile);
    this.attach(tile);
    return true;
  }

  /** (Re)subscribe the tile's hub reader with its fps cap. */
  private attach(tile: Tile): void {
    tile.sub?.unsubscribe();
    const camera = tile.printer.facts().camera;
    const fps = camera === 'rtsps' ? Math.min(tile.fps ?? RTSPS_TILE_FPS, RTSPS_TILE_FPS) : tile.fps;
    tile.sub = tile.printer.jpeg.subscribe(
      {
        // Taken at once: the tile's one pending slot is the queue, so the hub never waits on us.
        send: (frame, done) => {
          this.offer(tile, frame);
          done();
        },
        close: () => this.unsubscribe(tile.printer.id),
        backlogBytes: () =>
          (tile.pending?.jpeg.length ?? 0) + (this.inFlight?.tile === tile ? this.inFlight.bytes : 0),
      },
      { output: 'wall', minIntervalMs: fps ? 1000 / fps : undefined },
    );
  }

  private unsubscribe(printerId: string): void {
    const tile = this.tiles.get(printerId);
    if (!tile) return;
    this.tiles.delete(printerId);
    this.ready.delete(tile);
    tile.pending = null;
    const sub = tile.sub;
    tile.sub = null;
    sub?.unsubscribe();
  }

  private offer(tile: Tile, frame: Frame): void {
    if (this.closed || this.tiles.get(tile.printer.id) !== tile) return;
    if (tile.pending) {
      tile.dropped++;
      this.picturesDropped++;
      tile.printer.jpeg.counters('wall').dropped++;
    }
    tile.pending = frame;
    this.ready.add(tile);
    this.pump();
  }

  /** Send the next waiting picture, if none is in flight. */
  private pump(): void {
    if (this.inFlight || this.closed) return;
    const tile = this.ready.values().next().value as Tile | undefined;
    if (!tile) return;
    this.ready.delete(tile);
    const frame = tile.pending!;
    tile.pending = null;
    const flight: Flight = { tile, bytes: frame.jpeg.length, since: Date.now() };
    this.inFlight = flight;
    this.opts.resizer.picture(frame, tile.width).then(
      (jpeg) => this.write(flight, frame, jpeg),
      () => this.finish(flight),
    );
  }

  private write(flight: Flight, frame: Frame, jpeg: Buffer): void {
    if (this.closed || this.inFlight !== flight) return;
    const { tile } = flight;
    if (this.tiles.get(tile.printer.id) !== tile) {
      this.finish(flight);
      return;
    }
    const head = encodePictureHeader(tile.printer.id, frame.seq, frame.receivedAt);
    flight.bytes = head.length + jpeg.length;
    const { ws } = this.opts;
    // Two fragments of one message: the JPEG is the hub's (or the resizer's shared) buffer, never copied.
    ws.send(head, { binary: true, fin: false });
    ws.send(jpeg, { binary: true, fin: true }, (err) => {
      if (err) {
        this.dispose();
        return;
      }
      tile.sent++;
      this.picturesSent++;
      this.bytesSent += flight.bytes;
      this.opts.counters.sent(tile.printer.id, flight.bytes);
      this.finish(flight);
    });
  }

  private finish(flight: Flight): void {
    if (this.inFlight !== flight) return;
    this.inFlight = null;
    this.pump();
  }

  ping(): void {
    if (!this.closed) this.opts.ws.ping();
  }

  /** Cut a browser that stopped reading (the output's stall limit or heartbeat). */
  terminate(): void {
    this.opts.ws.terminate();
    this.dispose();
  }

  /** Close from our side (shutdown): the closing handshake, cut short after `waitMs`. */
  async close(code: number, reason: string, waitMs = 1000): Promise<void> {
    const { ws } = this.opts;
    this.dispose();
    if (ws.readyState === ws.CLOSED) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        ws.terminate();
        resolve();
      }, waitMs);
      ws.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      if (ws.readyState === ws.OPEN) ws.close(code, reason);
    });
  }

  /** Release every hub reader; idempotent. */
  dispose(): void {
    if (this.closed) return;
    this.closed = true;
    for (const id of [...this.tiles.keys()]) this.unsubscribe(id);
    this.inFlight = null;
    this.onClosed?.();
  }

  /** Set by the output: forget this connection once it closed. */
  onClosed: (() => void) | null = null;

  toJSON(): Record<string, unknown> {
    const m = this.memory();
    return {
      id: this.opts.id,
      remote: this.opts.remote,
      since: new Date(this.since).toISOString(),
      tiles: [...this.tiles.values()].map((t) => ({
        printer: t.printer.id,
        width: t.width,
        fps: t.fps,
        pending: t.pending ? 1 : 0,
        sent: t.sent,
        dropped: t.dropped,
      })),
      pending_pictures: m.pendingPictures,
      pending_bytes: m.pendingBytes,
      in_flight_bytes: m.inFlightBytes,
      buffered_bytes: m.bufferedBytes,
      in_flight_ms: this.stuckFor(),
      pictures_sent: this.picturesSent,
      pictures_dropped: this.picturesDropped,
      bytes_sent: this.bytesSent,
    };
  }
}
