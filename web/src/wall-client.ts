/**
 * The camera wall's browser side, shared by the page and every dashboard card of one page: ONE
 * WebSocket per gateway (`/api/wall`) carrying every tile's pictures, however many tiles there are.
 *
 * Views `watch()` a printer and say whether they are wanted now (in view) and how wide they are;
 * the client merges the watches of one printer (widest, fastest) and tells the gateway only what
 * changed. A hidden tab, or a paused client (a full view covers the wall), unsubscribes everything,
 * so nothing is sent. It reconnects by itself and closes the socket when no view is left.
 */
import {
  type ClientText,
  decodePicture,
  type Picture,
  type ServerText,
  type TileWish,
  type WallPrinter,
  type WallPrinterFacts,
} from './wall-protocol';

export type { Picture, WallPrinter } from './wall-protocol';

const RECONNECT_MS = [1000, 2000, 5000, 10_000];
/** The socket stays this long after the last view left (a dashboard being rebuilt comes back). */
const LINGER_MS = 5000;

export interface WatchOptions {
  /** Width in device pixels (CSS width × devicePixelRatio). */
  width?: number;
  /** Cap: at most this many pictures a second. */
  fps?: number;
  onPicture(picture: Picture): void;
}

export interface Watch {
  /** In view (IntersectionObserver) or not: only wanted watches get pictures. */
  setWanted(wanted: boolean): void;
  setWidth(width: number | undefined): void;
  close(): void;
}

type Listener = () => void;

class WatchImpl implements Watch {
  wanted = false;
  constructor(
    private readonly client: WallClient,
    readonly printer: string,
    public opts: WatchOptions,
  ) {}
  setWanted(wanted: boolean): void {
    if (this.wanted === wanted) return;
    this.wanted = wanted;
    this.client.changed();
  }
  setWidth(width: number | undefined): void {
    if (this.opts.width === width) return;
    this.opts = { ...this.opts, width };
    this.client.changed();
  }
  close(): void {
    this.client.remove(this);
  }
}

const clients = new Map<string, WallClient>();

/**
 * `http://gw:8090` (or the page's own base) → `ws://gw:8090/api/wall`, with the page's `?token=`
 * when bambucam wants one (http.users: a browser cannot set headers on a WebSocket).
 */
export function wallUrl(base: string, token: string | null = null): string {
  const url = new URL('api/wall', base.endsWith('/') ? base : `${base}/`);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  if (token) url.searchParams.set('token', token);
  return url.href;
}

export class WallClient {
  /** The one client of this page for a gateway. */
  static shared(base: string, token: string | null = null): WallClient {
    const url = wallUrl(base, token);
    let c = clients.get(url);
    if (!c) {
      c = new WallClient(url);
      clients.set(url, c);
    }
    return c;
  }

  /** Printers as the gateway said in its hello, kept current by status messages. */
  readonly printers = new Map<string, WallPrinter>();
  /** Widths the gateway sends tiles at (hello); asked widths are rounded up to one of them. */
  widths: number[] = [];
  state: 'idle' | 'connecting' | 'open' | 'closed' = 'idle';
  /** The gateway's last error text, for views to show. */
  lastError: string | null = null;
  /** Pictures and bytes received, for tests and debugging. */
  pictures = 0;
  bytes = 0;
  private ws: WebSocket | null = null;
  private readonly watches = new Map<string, Set<WatchImpl>>();
  /** What the gateway has been asked for, per printer. */
  private sent = new Map<string, TileWish>();
  private paused = false;
  /** Stay connected without any view (the page, which learns its printers from the hello). */
  private persistent = false;
  private syncQueued = false;
  private attempts = 0;
  private retryTimer: number | null = null;
  private lingerTimer: number | null = null;
  private readonly listeners = new Set<Listener>();
  private readonly onVisibility = () => this.changed();

  constructor(readonly url: string) {}

  /** Called on hello, status and connection changes. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Connect now and stay connected (and reconnect) whether or not a view watches anything. */
  open(): void {
    this.persistent = true;
    this.connect();
  }

  watch(printer: string, opts: WatchOptions): Watch {
    const w = new WatchImpl(this, printer, opts);
    let set = this.watches.get(printer);
    if (!set) {
      set = new Set();
      this.watches.set(printer, set);
    }
    set.add(w);
    if (this.lingerTimer !== null) window.clearTimeout(this.lingerTimer);
    this.lingerTimer = null;
    this.connect();
    return w;
  }

  /** Pause every view (a full view covers the wall) or go on. */
  setPaused(paused: boolean): void {
    if (this.paused === paused) return;
    this.paused = paused;
    this.changed();
  }

  /** @internal a watch changed: tell the gateway in the next microtask (one message for many changes). */
  changed(): void {
    if (this.syncQueued) return;
    this.syncQueued = true;
    queueMicrotask(() => {
      this.syncQueued = false;
      this.sync();
    });
  }

  /** @internal */
  remove(w: WatchImpl): void {
    const set = this.watches.get(w.printer);
    if (!set?.delete(w)) return;
    if (set.size === 0) this.watches.delete(w.printer);
    this.changed();
    if (this.watches.size === 0 && !this.persistent && this.lingerTimer === null)
      this.lingerTimer = window.setTimeout(() => {
        this.lingerTimer = null;
        if (this.watches.size === 0 && !this.persistent) this.disconnect();
      }, LINGER_MS);
  }

  private connect(): void {
    if (this.ws || this.retryTimer !== null) return;
    document.addEventListener('visibilitychange', this.onVisibility);
    this.state = 'connecting';
    const ws = new WebSocket(this.url);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onopen = () => {
      this.attempts = 0;
      this.state = 'open';
      this.sent = new Map();
      this.notify();
      // Tiles are asked for once the hello (printers, widths) arrived.
    };
    ws.onmessage = (ev) => this.onMessage(ev.data);
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.state = 'closed';
      this.notify();
      if (this.watches.size === 0 && !this.persistent) return;
      const wait = RECONNECT_MS[Math.min(this.attempts++, RECONNECT_MS.length - 1)];
      this.retryTimer = window.setTimeout(() => {
        this.retryTimer = null;
        this.connect();
      }, wait);
    };
  }

  private disconnect(): void {
    document.removeEventListener('visibilitychange', this.onVisibility);
    if (this.retryTimer !== null) window.clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const ws = this.ws;
    this.ws = null;
    ws?.close(1000, 'no tile left');
    this.state = 'idle';
  }

  private notify(): void {
    for (const l of this.listeners) l();
  }

  /**
   * The width the gateway will send for `px` device pixels, so a resize within a bucket says
   * nothing; undefined (the printer's own picture) above the widest.
   */
  private bucket(px: number | undefined): number | undefined {
    if (px === undefined || px <= 0) return undefined;
    return this.widths.find((w) => w >= px);
  }

  /** What each printer's views want now, merged: the widest width and the highest fps. */
  private wanted(): Map<string, TileWish> {
    const out = new Map<string, TileWish>();
    if (this.paused || document.visibilityState === 'hidden') return out;
    for (const [printer, set] of this.watches) {
      let any = false;
      let width: number | undefined = 0;
      let fps: number | undefined = 0;
      for (const w of set) {
        if (!w.wanted) continue;
        any = true;
        // A view without a width wants the full picture; without an fps, every picture.
        width = width === undefined || w.opts.width === undefined ? undefined : Math.max(width, w.opts.width);
        fps = fps === undefined || w.opts.fps === undefined ? undefined : Math.max(fps, w.opts.fps);
      }
      if (!any) continue;
      const wish: TileWish = { printer };
      const b = this.bucket(width);
      if (b !== undefined) wish.width = b;
      if (fps !== undefined) wish.fps = fps;
      out.set(printer, wish);
    }
    return out;
  }

  private sync(): void {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || this.widths.length === 0) return;
    const want = this.wanted();
    const subscribe: TileWish[] = [];
    for (const [printer, wish] of want) {
      const had = this.sent.get(printer);
      if (!had || had.width !== wish.width || had.fps !== wish.fps) subscribe.push(wish);
    }
    const unsubscribe = [...this.sent.keys()].filter((p) => !want.has(p));
    if (unsubscribe.length) this.send({ type: 'unsubscribe', printers: unsubscribe });
    if (subscribe.length) this.send({ type: 'subscribe', tiles: subscribe });
    this.sent = want;
  }

  private send(msg: ClientText): void {
    this.ws?.send(JSON.stringify(msg));
  }

  private onMessage(data: unknown): void {
    if (data instanceof ArrayBuffer) {
      this.bytes += data.byteLength;
      let picture: Picture;
      try {
        picture = decodePicture(new Uint8Array(data));
      } catch {
        return;
      }
      this.pictures++;
      for (const w of this.watches.get(picture.printer) ?? []) if (w.wanted) w.opts.onPicture(picture);
      return;
    }
    if (typeof data !== 'string') return;
    this.bytes += data.length;
    const msg = JSON.parse(data) as ServerText;
    if (msg.type === 'hello') {
      this.widths = msg.widths;
      this.printers.clear();
      for (const p of msg.printers) this.printers.set(p.id, p);
      this.sent = new Map();
      this.sync();
    } else if (msg.type === 'status') {
      for (const f of msg.printers) this.update(f);
    } else if (msg.type === 'error') {
      this.lastError = msg.message;
    }
    this.notify();
  }

  private update(f: WallPrinterFacts): void {
    const p = this.printers.get(f.id);
    if (p) this.printers.set(f.id, { ...p, ...f });
  }
}

/**
 * A canvas showing the newest picture of a watch: pictures are decoded off the main thread
 * (createImageBitmap); one arriving while another decodes replaces the waiting one.
 */
export class PictureView {
  readonly canvas: HTMLCanvasElement;
  /** Pictures drawn, and the last one's facts. */
  drawn = 0;
  lastSeq = 0;
  lastReceivedAt = 0;
  private decoding = false;
  private next: Picture | null = null;
  private closed = false;

  constructor(
    className = 'picture',
    private readonly onDrawn?: (view: PictureView) => void,
  ) {
    this.canvas = document.createElement('canvas');
    this.canvas.className = className;
  }

  show(picture: Picture): void {
    if (this.closed) return;
    if (this.decoding) {
      this.next = picture;
      return;
    }
    void this.draw(picture);
  }

  private async draw(picture: Picture): Promise<void> {
    this.decoding = true;
    try {
      const bitmap = await createImageBitmap(
        new Blob([picture.jpeg as Uint8Array<ArrayBuffer>], { type: 'image/jpeg' }),
      );
      if (!this.closed) {
        if (this.canvas.width !== bitmap.width || this.canvas.height !== bitmap.height) {
          this.canvas.width = bitmap.width;
          this.canvas.height = bitmap.height;
        }
        this.canvas.getContext('2d')?.drawImage(bitmap, 0, 0);
        this.canvas.dataset.painted = 'true';
        this.drawn++;
        this.lastSeq = picture.seq;
        this.lastReceivedAt = picture.receivedAt;
        this.onDrawn?.(this);
      }
      bitmap.close();
    } catch {
      // A picture the browser cannot decode: the next one will do.
    } finally {
      this.decoding = false;
      const next = this.next;
      this.next = null;
      if (next && !this.closed) void this.draw(next);
    }
  }

  close(): void {
    this.closed = true;
    this.next = null;
  }
}
