/** Small JPEG facts: marker checks and a COM (comment) segment used to tag simulator frames. */

export function isJfif(buf: Buffer): boolean {
  return buf.length >= 4 && buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff && buf[3] === 0xe0;
}

/** JFIF APP0: version 1.01, no units, 1:1 aspect, no thumbnail. */
const JFIF_APP0 = Buffer.from([
  0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00,
]);

/**
 * Make a JPEG begin FF D8 FF E0 (JFIF), as the printer's do; encoders such as libvips omit APP0.
 * A JPEG that already has it is returned as is.
 */
export function ensureJfif(jpeg: Buffer): Buffer {
  if (isJfif(jpeg)) return jpeg;
  if (jpeg.length < 4 || jpeg[0] !== 0xff || jpeg[1] !== 0xd8) throw new Error('ensureJfif: not a JPEG');
  return Buffer.concat([jpeg.subarray(0, 2), JFIF_APP0, jpeg.subarray(2)]);
}

/**
 * Insert a COM segment right after the JFIF APP0 segment, so the file still begins FF D8 FF E0
 * (ha-bambulab drops frames that do not).
 */
export function insertComment(jpeg: Buffer, text: string): Buffer {
  if (!isJfif(jpeg)) throw new Error('insertComment: not a JFIF JPEG');
  const app0End = 4 + jpeg.readUInt16BE(4);
  const body = Buffer.from(text, 'latin1');
  const seg = Buffer.alloc(4 + body.length);
  seg[0] = 0xff;
  seg[1] = 0xfe;
  seg.writeUInt16BE(body.length + 2, 2);
  body.copy(seg, 4);
  return Buffer.concat([jpeg.subarray(0, app0End), seg, jpeg.subarray(app0End)]);
}

/** Read the first COM segment before the image data, or null. */
export function readComment(jpeg: Buffer): string | null {
  let off = 2;
  while (off + 4 <= jpeg.length && jpeg[off] === 0xff) {
    const marker = jpeg[off + 1];
    const len = jpeg.readUInt16BE(off + 2);
    if (marker === 0xfe) return jpeg.subarray(off + 4, off + 2 + len).toString('latin1');
    if (marker === 0xda) return null; // start of scan: no more headers
    off += 2 + len;
  }
  return null;
}

/**
 * Width and height from the JPEG's frame header (SOF0..SOF15 except DHT, JPG and DAC), or null when
 * the headers before the image data hold none.
 */
export function jpegSize(jpeg: Buffer): { width: number; height: number } | null {
  let off = 2;
  while (off + 4 <= jpeg.length && jpeg[off] === 0xff) {
    const marker = jpeg[off + 1];
    if (marker === 0xff) {
      off++; // fill byte
      continue;
    }
    const len = jpeg.readUInt16BE(off + 2);
    const sof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (sof && off + 9 <= jpeg.length)
      return { height: jpeg.readUInt16BE(off + 5), width: jpeg.readUInt16BE(off + 7) };
    if (marker === 0xda) return null;
    off += 2 + len;
  }
  return null;
}
