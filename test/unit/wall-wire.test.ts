import {
  decodePicture,
  encodePictureHeader,
  PICTURE_KIND,
  parseControl,
  TILE_WIDTHS,
  tileWidth,
} from '../../src/wall/wire';
import { decodePicture as decodeInBrowser } from '../../web/src/wall-protocol';

describe('camera wall wire format', () => {
  const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 0xff, 0xd9]);

  test('a picture message is kind, id length, id, seq, receivedAt, then the JPEG — byte for byte', () => {
    const head = encodePictureHeader('garage-p1s', 0x01020304, 1700000000123.5);
    expect([...head.subarray(0, 2)]).toEqual([PICTURE_KIND, 10]);
    expect(head.subarray(2, 12).toString()).toBe('garage-p1s');
    expect([...head.subarray(12, 16)]).toEqual([1, 2, 3, 4]);
    expect(head.readDoubleBE(16)).toBe(1700000000123.5);
    expect(head.length).toBe(24);
  });

  test("the server's encoding reads back the same in Node and with the browser's decoder", () => {
    const msg = Buffer.concat([encodePictureHeader('x1c-lab_2', 4294967295, 1.25), jpeg]);
    const node = decodePicture(msg);
    expect(node).toEqual({ printer: 'x1c-lab_2', seq: 4294967295, receivedAt: 1.25, jpeg });
    // The browser gets an ArrayBuffer: decode from a view at an offset, as a fragment of a larger buffer.
    const big = new Uint8Array(msg.length + 7);
    big.set(msg, 7);
    const browser = decodeInBrowser(big.subarray(7));
    expect(browser.printer).toBe('x1c-lab_2');
    expect(browser.seq).toBe(4294967295);
    expect(browser.receivedAt).toBe(1.25);
    expect(Buffer.from(browser.jpeg).equals(jpeg)).toBe(true);
  });

  test('malformed picture messages are refused, not misread', () => {
    expect(() => decodeInBrowser(new Uint8Array([2, 0]))).toThrow(/not a picture/);
    expect(() => decodeInBrowser(new Uint8Array([1, 5, 65]))).toThrow(/too short/);
    expect(() => encodePictureHeader('', 1, 1)).toThrow();
    expect(() => encodePictureHeader('x'.repeat(256), 1, 1)).toThrow();
  });

  test('control messages: subscribe and unsubscribe, with every mistake named', () => {
    expect(
      parseControl('{"type":"subscribe","tiles":[{"printer":"a"},{"printer":"b","width":431.6,"fps":2}]}'),
    ).toEqual({
      type: 'subscribe',
      tiles: [
        { printer: 'a', width: null, fps: null },
        { printer: 'b', width: 432, fps: 2 },
      ],
    });
    expect(parseControl('{"type":"unsubscribe"}')).toEqual({ type: 'unsubscribe', printers: null });
    expect(parseControl('{"type":"unsubscribe","printers":["a"]}')).toEqual({
      type: 'unsubscribe',
      printers: ['a'],
    });
    const bad: [string, RegExp][] = [
      ['nope', /JSON/],
      ['[1]', /JSON object with a type/],
      ['{"type":"dance"}', /unknown control message type "dance"/],
      ['{"type":"subscribe"}', /subscribe needs tiles/],
      ['{"type":"subscribe","tiles":[{"printer":5}]}', /printer must be a printer id/],
      ['{"type":"subscribe","tiles":[{"printer":"a","width":0}]}', /width must be a number from 1 to 16384/],
      ['{"type":"subscribe","tiles":[{"printer":"a","fps":100}]}', /fps must be a number from 0.01 to 30/],
      ['{"type":"unsubscribe","printers":"a"}', /unsubscribe takes printers/],
    ];
    for (const [text, message] of bad) expect(() => parseControl(text)).toThrow(message);
  });

  test('a tile width is rounded up to a bucket, never above the source, and larger asks get the original', () => {
    expect(TILE_WIDTHS).toEqual([320, 480, 640, 960]);
    expect(tileWidth(null, 1280)).toBeNull();
    expect(tileWidth(100, 1280)).toBe(320);
    expect(tileWidth(320, 1280)).toBe(320);
    expect(tileWidth(321, 1280)).toBe(480);
    expect(tileWidth(900, 1280)).toBe(960);
    expect(tileWidth(961, 1280)).toBeNull();
    // No upscaling, and no "resize" to the same size: the printer's own picture.
    expect(tileWidth(600, 640)).toBeNull();
    expect(tileWidth(400, 480)).toBeNull();
    expect(tileWidth(400, 640)).toBe(480);
    expect(tileWidth(400, null)).toBe(480);
  });
});
