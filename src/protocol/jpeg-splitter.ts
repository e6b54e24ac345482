/**
 * Splits a stream of concatenated JPEGs (ffmpeg `-f image2pipe -c:v mjpeg`) into pictures: each
 * starts at SOI (FF D8) and ends at EOI (FF D9). Inside entropy-coded data FF is always followed by
 * 00 or a restart marker, so FF D9 cannot occur before the real end. Pure: no I/O.
 */
export const MAX_JPEG_BYTES = 10 * 1024 * 1024;

export class JpegStreamSplitter {
  private parts: Buffer[] = [];
  private size = 0;
  private inPicture = false;
  private lastByteFF = false;

  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let start = 0;
    let i = 0;
    if (!this.inPicture) {
      const soi = chunk.indexOf(Buffer.from([0xff, 0xd8]));
      if (soi < 0) return out;
      this.inPicture = true;
      start = soi;
      i = soi + 2;
      this.lastByteFF = false;
    }
    for (; i < chunk.length; i++) {
      const b = chunk[i];
      if (this.lastByteFF && b === 0xd9) {
        this.parts.push(chunk.subarray(start, i + 1));
        out.push(Buffer.concat(this.parts));
        this.parts = [];
        this.size = 0;
        this.inPicture = false;
        this.lastByteFF = false;
        const soi = chunk.indexOf(Buffer.from([0xff, 0xd8]), i + 1);
        if (soi < 0) return out;
        this.inPicture = true;
        start = soi;
        i = soi + 1;
        continue;
      }
      this.lastByteFF = b === 0xff;
    }
    const rest = chunk.subarray(start);
    this.parts.push(rest);
    this.size += rest.length;
    if (this.size > MAX_JPEG_BYTES) {
      this.parts = [];
      this.size = 0;
      this.inPicture = false;
      throw new Error('JPEG larger than 10 MB from ffmpeg');
    }
    return out;
  }
}
