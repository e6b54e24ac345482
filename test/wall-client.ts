/** A Node camera-wall client for tests: the `ws` library's client, pictures decoded as the page does. */
import WebSocket from 'ws';
import type { App } from '../src/app';
import { WallOutput } from '../src/wall/wall-output';
import { decodePicture as decodeInBrowser } from '../web/src/wall-protocol';

export interface ReceivedPicture {
  printer: string;
  seq: number;
  receivedAt: number;
  /** When this client got it. */
  at: number;
  jpeg: Buffer;
}

export class TestWallClient {
  readonly ws: WebSocket;
  readonly pictures: ReceivedPicture[] = [];
  readonly texts: Record<string, unknown>[] = [];
  readonly opened: Promise<void>;
  readonly closed: Promise<{ code: number; reason: string }>;
  hello: Record<string, unknown> | null = null;
  bytes = 0;

  constructor(url: string, options: WebSocket.ClientOptions = {}) {
    this.ws = new WebSocket(url, options);
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
    this.closed = new Promise((resolve) =>
      this.ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    this.ws.on('error', () => {});
    this.ws.on('message', (data: Buffer, isBinary) => {
      this.bytes += data.length;
      if (!isBinary) {
        const msg = JSON.parse(data.toString()) as Record<string, unknown>;
        if (msg.type === 'hello') this.hello = msg;
        this.texts.push(msg);
        return;
      }
      // The page's decoder (web/src/wall-protocol.ts), so the test checks what the browser reads.
      const view = new Uint8Array(data.buffer, data.byteOffset, data.length);
      const p = decodeInBrowser(view);
      this.pictures.push({
        printer: p.printer,
        seq: p.seq,
        receivedAt: p.receivedAt,
        at: Date.now(),
        jpeg: Buffer.from(p.jpeg.buffer, p.jpeg.byteOffset, p.jpeg.byteLength),
      });
    });
  }

  send(msg: object): void {
    this.ws.send(JSON.stringify(msg));
  }

  subscribe(...tiles: { printer: string; width?: number; fps?: number }[]): void {
    this.send({ type: 'subscribe', tiles });
  }

  unsubscribe(printers?: string[]): void {
    this.send(printers ? { type: 'unsubscribe', printers } : { type: 'unsubscribe' });
  }

  picturesOf(printer: string): ReceivedPicture[] {
    return this.pictures.filter((p) => p.printer === printer);
  }

  errors(): Record<string, unknown>[] {
    return this.texts.filter((t) => t.type === 'error');
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    this.ws.close();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.closed, new Promise((r) => (timer = setTimeout(r, 2000)))]);
    clearTimeout(timer);
    this.ws.terminate();
  }
}

/** The gateway's wall output. */
export function wallOf(gw: { app: App }): WallOutput {
  const wall = gw.app.output(WallOutput);
  if (!wall) throw new Error('the wall output is not built');
  return wall;
}

export function wallUrl(base: string): string {
  return `${base.replace(/^http/, 'ws')}/api/wall`;
}
