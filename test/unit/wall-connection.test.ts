import { EventEmitter } from 'node:events';
import type { WebSocket } from 'ws';
import { JpegHub } from '../../src/hub/jpeg-hub';
import { Logger } from '../../src/log';
import type { PrinterMedia } from '../../src/output/printer-media';
import { TileResizer } from '../../src/wall/tile-resizer';
import { WallConnection } from '../../src/wall/wall-connection';
import { decodePicture } from '../../src/wall/wire';

/** A socket whose writes complete only when the test says so (a browser that reads slowly). */
class HeldSocket extends EventEmitter {
  bufferedAmount = 0;
  readonly messages: Buffer[] = [];
  readonly texts: Record<string, unknown>[] = [];
  readonly held: (() => void)[] = [];
  private fragments: Buffer[] = [];
  send(
    data: Buffer | string,
    opts?: { fin?: boolean } | ((err?: Error) => void),
    cb?: (err?: Error) => void,
  ): void {
    if (typeof data === 'string') {
      this.texts.push(JSON.parse(data));
      return;
    }
    this.fragments.push(data);
    if (typeof opts === 'object' && opts.fin === false) return;
    this.messages.push(Buffer.concat(this.fragments));
    this.fragments = [];
    if (cb) this.held.push(() => cb());
  }
  /** The browser took the picture in flight. */
  release(): void {
    this.held.shift()?.();
  }
  ping(): void {}
  close(): void {}
  terminate(): void {}
}

function printer(id: string): PrinterMedia {
  const jpeg = new JpegHub();
  return {
    id,
    name: id,
    jpeg,
    facts: () => ({ state: 'streaming', reason: null, model: 'P1S', camera: 'chamber', fps: 1 }),
  } as unknown as PrinterMedia;
}

const picture = (n: number) => Buffer.from([0xff, 0xd8, n, 0xff, 0xd9]);
const flush = () => new Promise((r) => setImmediate(r));

describe('a wall connection', () => {
  let a: PrinterMedia;
  let b: PrinterMedia;
  let ws: HeldSocket;
  let conn: WallConnection;
  beforeEach(() => {
    // Fresh hubs: a new tile gets a hub's latest frame at once.
    a = printer('a');
    b = printer('b');
    ws = new HeldSocket();
    conn = new WallConnection({
      id: 1,
      ws: ws as unknown as WebSocket,
      remote: 'test',
      printers: new Map([
        ['a', a],
        ['b', b],
      ]),
      resizer: new TileResizer(),
      log: new Logger(['test']),
      counters: { sent: () => {} },
    });
    ws.emit(
      'message',
      Buffer.from(JSON.stringify({ type: 'subscribe', tiles: [{ printer: 'a' }, { printer: 'b' }] })),
      false,
    );
  });
  afterEach(() => conn.dispose());

  test('one picture in flight; each tile keeps only its newest; tiles take turns oldest-waiting first', async () => {
    a.jpeg.publish(picture(1));
    await flush();
    expect(ws.messages.map((m) => decodePicture(m).jpeg[2])).toEqual([1]);
    // While the socket holds picture 1: a gets 2, 3, 4 (only 4 stays), b gets 10 after a started waiting.
    a.jpeg.publish(picture(2));
    b.jpeg.publish(picture(10));
    a.jpeg.publish(picture(3));
    a.jpeg.publish(picture(4));
    await flush();
    expect(ws.messages).toHaveLength(1);
    expect(conn.memory()).toEqual(expect.objectContaining({ pendingPictures: 2, pendingBytes: 10 }));
    expect(conn.pendingOf('a')).toEqual({ pictures: 1, bytes: 5 });
    ws.release();
    await flush();
    ws.release();
    await flush();
    const sent = ws.messages.map((m) => [decodePicture(m).printer, decodePicture(m).jpeg[2]]);
    expect(sent).toEqual([
      ['a', 1],
      ['a', 4],
      ['b', 10],
    ]);
    expect(conn.picturesDropped).toBe(2);
    expect(a.jpeg.outputCounters().wall.dropped).toBe(2);
    expect(conn.memory().pendingPictures).toBe(0);
  });

  test('the picture is the hub frame itself: seq and receivedAt travel with it, nothing is re-encoded', async () => {
    const frame = a.jpeg.publish(picture(7), 1_700_000_000_000);
    await flush();
    const got = decodePicture(ws.messages[0]);
    expect(got).toEqual({ printer: 'a', seq: frame.seq, receivedAt: 1_700_000_000_000, jpeg: frame.jpeg });
  });

  test('unsubscribing drops the pending picture and releases the hub reader; closing releases all', async () => {
    a.jpeg.publish(picture(1));
    a.jpeg.publish(picture(2));
    await flush();
    expect(conn.memory().pendingPictures).toBe(1);
    ws.emit('message', Buffer.from(JSON.stringify({ type: 'unsubscribe', printers: ['a'] })), false);
    expect(conn.memory().pendingPictures).toBe(0);
    expect(a.jpeg.outputCounters().wall.viewers).toBe(0);
    expect(b.jpeg.outputCounters().wall.viewers).toBe(1);
    ws.release();
    await flush();
    expect(ws.messages).toHaveLength(1);
    ws.emit('close');
    expect(b.jpeg.outputCounters().wall.viewers).toBe(0);
  });

  test('the status goes only to a connection that shows tiles, with those printers', () => {
    conn.sendStatus();
    expect(ws.texts.at(-1)).toEqual({
      type: 'status',
      printers: [
        expect.objectContaining({ id: 'a', state: 'streaming' }),
        expect.objectContaining({ id: 'b' }),
      ],
    });
    ws.emit('message', Buffer.from('{"type":"unsubscribe"}'), false);
    const n = ws.texts.length;
    conn.sendStatus();
    expect(ws.texts.length).toBe(n);
  });
});
