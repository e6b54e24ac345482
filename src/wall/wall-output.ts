/**
 * The camera wall (issue 10): every printer's own JPEGs to a browser over ONE WebSocket at
 * `/api/wall`, so a page of 100 tiles holds one connection and starts no encoder. Chamber printers'
 * tiles are the printer's frames as they arrive (or capped per tile); RTSPS printers' tiles are the
 * decoder's JPEGs at 1 fps. Tiles ask for a width and get a shared, once-per-frame resized copy.
 *
 * Uses `ws` for RFC 6455 (handshake, framing, close, ping) rather than writing it by hand. The
 * protocol is in wire.ts and docs/wall.md; flow control in wall-connection.ts.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { Router } from 'express';
import { Counter, Gauge, type Registry } from 'prom-client';
import { WebSocketServer } from 'ws';
import type { Logger } from '../log';
import { shownHost } from '../net/hosts';
import type { Output, OutputContext, OutputFactory, OutputState } from '../output/output';
import type { PrinterMedia } from '../output/printer-media';
import { HttpOutput } from '../serve/http/http-output';
import { TileResizer } from './tile-resizer';
import { printerFacts, WallConnection } from './wall-connection';
import { TILE_WIDTHS, WALL_PROTOCOL_VERSION } from './wire';

export const WALL_PATH = '/api/wall';
/** Printer facts (state, fps) to each browser that shows tiles, this often. */
export const WALL_STATUS_INTERVAL_MS = 2000;
/** A browser whose socket has not taken a picture for this long is cut (it stopped reading). */
export const WALL_STALL_MS = 30_000;
/** Ping every browser this often; one that did not answer the previous ping is cut. */
export const WALL_PING_MS = 30_000;
/** Control messages are small JSON; anything bigger ends the connection. */
const MAX_CONTROL_BYTES = 64 * 1024;

interface PrinterTotals {
  pictures: number;
  bytes: number;
}

export class WallOutput implements Output {
  readonly name = 'wall';
  private readonly wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_CONTROL_BYTES,
    perMessageDeflate: false,
    clientTracking: false,
  });
  private readonly connections = new Set<WallConnection>();
  private readonly perPrinter = new Map<string, PrinterTotals>();
  readonly resizer = new TileResizer();
  private readonly log: Logger;
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private nextId = 1;
  private lastStatusAt = 0;
  private lastPingAt = 0;
  connectionsOpened = 0;
  stalled = 0;

  constructor(private readonly ctx: OutputContext) {
    this.log = ctx.log.child('wall');
    ctx.http.upgrade(WALL_PATH, (req, socket, head) => this.upgrade(req, socket, head));
    const router = Router();
    router.get(WALL_PATH, (_req, res) => {
      res.set('Cache-Control', 'no-store').json(this.toJSON());
    });
    ctx.http.use(router);
  }

  private get printers(): ReadonlyMap<string, PrinterMedia> {
    return this.ctx.printers;
  }

  async start(): Promise<void> {
    this.running = true;
    this.timer = setInterval(() => this.tick(), 500);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await Promise.all([...this.connections].map((c) => c.close(1001, 'bambucam is stopping')));
    this.connections.clear();
  }

  describe(): string[] {
    const http = this.ctx.outputs().find((o): o is HttpOutput => o instanceof HttpOutput);
    if (!this.running || !http?.port) return [];
    return [
      `camera wall: the web page's tiles, every printer over one WebSocket at ws://${shownHost(this.ctx.config.http.host)}:${http.port}${WALL_PATH}`,
    ];
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (!this.running) {
      socket.destroy();
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const remote = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
      const id = this.nextId++;
      const conn = new WallConnection({
        id,
        ws,
        remote,
        printers: this.printers,
        resizer: this.resizer,
        log: this.log,
        counters: { sent: (printerId, bytes) => this.count(printerId, bytes) },
      });
      this.connections.add(conn);
      this.connectionsOpened++;
      conn.onClosed = () => {
        this.connections.delete(conn);
        this.log.info(
          `viewer ${remote} left after ${Math.round((Date.now() - conn.since) / 1000)} s, ${conn.picturesSent} pictures (${this.connections.size} open)`,
        );
      };
      this.log.info(`viewer ${remote} connected (${this.connections.size} open)`);
      conn.send({
        type: 'hello',
        version: WALL_PROTOCOL_VERSION,
        widths: TILE_WIDTHS,
        printers: [...this.printers.values()].map((p) => ({
          ...printerFacts(p),
          name: p.name,
          urls: {
            snapshot: `printers/${encodeURIComponent(p.id)}/snapshot.jpg`,
            mjpeg: `printers/${encodeURIComponent(p.id)}/stream.mjpeg`,
            hls: `printers/${encodeURIComponent(p.id)}/hls/index.m3u8`,
            // The full view plays WebRTC first while the gateway serves it (docs/webrtc.md).
            ...(this.ctx.config.webrtc.enabled ? { whep: `printers/${encodeURIComponent(p.id)}/whep` } : {}),
          },
        })),
      });
    });
  }

  private count(printerId: string, bytes: number): void {
    let t = this.perPrinter.get(printerId);
    if (!t) {
      t = { pictures: 0, bytes: 0 };
      this.perPrinter.set(printerId, t);
    }
    t.pictures++;
    t.bytes += bytes;
  }

  /** Stall limit, heartbeat and status messages: one timer for every connection. */
  private tick(): void {
    const tuning = this.ctx.tuning;
    const now = Date.now();
    const stallMs = tuning.wallStallMs ?? WALL_STALL_MS;
    const ping = now - this.lastPingAt >= (tuning.wallPingMs ?? WALL_PING_MS);
    const status = now - this.lastStatusAt >= (tuning.wallStatusIntervalMs ?? WALL_STATUS_INTERVAL_MS);
    if (ping) this.lastPingAt = now;
    if (status) this.lastStatusAt = now;
    for (const c of [...this.connections]) {
      if (c.stuckFor(now) > stallMs) {
        this.stalled++;
        this.log.warn(`a viewer took no picture for ${Math.round(stallMs / 1000)} s: disconnected`);
        c.terminate();
        continue;
      }
      if (ping) {
        if (!c.alive) {
          this.log.info('a viewer did not answer a ping: disconnected');
          c.terminate();
          continue;
        }
        c.alive = false;
        c.ping();
      }
      if (status) c.sendStatus();
    }
  }

  /** Totals over every connection. */
  totals(): Record<string, number> {
    let tiles = 0;
    let pendingPictures = 0;
    let pendingBytes = 0;
    let inFlightBytes = 0;
    for (const c of this.connections) {
      const m = c.memory();
      tiles += c.tileCount;
      pendingPictures += m.pendingPictures;
      pendingBytes += m.pendingBytes;
      inFlightBytes += m.inFlightBytes;
    }
    let pictures = 0;
    let bytes = 0;
    for (const t of this.perPrinter.values()) {
      pictures += t.pictures;
      bytes += t.bytes;
    }
    return {
      connections: this.connections.size,
      connections_opened: this.connectionsOpened,
      tiles,
      pending_pictures: pendingPictures,
      pending_bytes: pendingBytes,
      in_flight_bytes: inFlightBytes,
      pictures_sent: pictures,
      bytes_sent: bytes,
      resizes: this.resizer.resizes,
      stalled: this.stalled,
    };
  }

  toJSON(): Record<string, unknown> {
    return {
      path: WALL_PATH,
      widths: TILE_WIDTHS,
      ...this.totals(),
      viewers: [...this.connections].map((c) => c.toJSON()),
    };
  }

  status(printerId: string): OutputState | undefined {
    if (!this.printers.has(printerId)) return undefined;
    let tiles = 0;
    let pendingPictures = 0;
    let pendingBytes = 0;
    for (const c of this.connections) {
      if (!c.hasTile(printerId)) continue;
      tiles++;
      const p = c.pendingOf(printerId);
      pendingPictures += p.pictures;
      pendingBytes += p.bytes;
    }
    const t = this.perPrinter.get(printerId);
    return {
      state: this.running ? 'running' : 'failed',
      listen: WALL_PATH,
      ...(this.running ? {} : { reason: 'stopped' }),
      // One tile per printer per connection: the browsers showing this printer.
      viewers: tiles,
      connections: this.connections.size,
      pending_pictures: pendingPictures,
      pending_bytes: pendingBytes,
      pictures_sent: t?.pictures ?? 0,
      bytes_sent: t?.bytes ?? 0,
    };
  }

  /** Prometheus metrics of the wall (per-printer tiles are bambucam_viewers{output="wall"}). */
  registerMetrics(registry: Registry): void {
    const wall = this;
    new Gauge({
      name: 'bambucam_wall_connections',
      help: 'Camera wall WebSocket connections open now (one per page or dashboard).',
      registers: [registry],
      collect() {
        this.set(wall.connections.size);
      },
    });
    new Gauge({
      name: 'bambucam_wall_pending_bytes',
      help: 'Bytes of pictures waiting for slow wall viewers (at most one picture per tile).',
      registers: [registry],
      collect() {
        this.set(wall.totals().pending_bytes);
      },
    });
    for (const [field, help] of [
      ['pictures', 'Pictures sent to wall tiles.'],
      ['bytes', 'Bytes of pictures sent to wall tiles.'],
    ] as const) {
      new Counter({
        name: `bambucam_wall_${field}_sent_total`,
        help,
        labelNames: ['printer'],
        registers: [registry],
        collect() {
          this.reset();
          for (const [printer, t] of wall.perPrinter) this.inc({ printer }, t[field]);
        },
      });
    }
    new Counter({
      name: 'bambucam_wall_stalled_total',
      help: 'Wall viewers disconnected because they stopped reading.',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(wall.stalled);
      },
    });
  }
}

export const wallOutput: OutputFactory = (ctx) => new WallOutput(ctx);
