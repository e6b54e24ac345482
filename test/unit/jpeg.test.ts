import { ensureJfif, insertComment, isJfif, jpegSize, readComment } from '../../src/protocol/jpeg';
import { renderPicture } from '../../src/simulator/picture';

describe('JPEG helpers', () => {
  test('simulator pictures are 1280x720 JFIF and a comment keeps them JFIF', async () => {
    const pic = await renderPicture({ name: 'Test', frame: 1, time: new Date() });
    expect(isJfif(pic)).toBe(true);
    const tagged = insertComment(pic, 'bambucam-sim seq=7 t=1.5');
    expect(isJfif(tagged)).toBe(true);
    expect(readComment(tagged)).toBe('bambucam-sim seq=7 t=1.5');
    const sharp = (await import('sharp')).default;
    const meta = await sharp(tagged).metadata();
    expect([meta.width, meta.height, meta.format]).toEqual([1280, 720, 'jpeg']);
  });

  test('ensureJfif adds the APP0 segment libvips leaves out', () => {
    const bare = Buffer.from([0xff, 0xd8, 0xff, 0xdb, 0, 4, 1, 2, 0xff, 0xd9]);
    const fixed = ensureJfif(bare);
    expect(isJfif(fixed)).toBe(true);
    expect(fixed.subarray(6, 11).toString('latin1')).toBe('JFIF\0');
    expect(fixed.subarray(fixed.length - 8).equals(bare.subarray(2))).toBe(true);
    expect(ensureJfif(fixed)).toBe(fixed);
  });
});

describe('jpegSize', () => {
  test('reads the frame header of baseline and progressive JPEGs, skipping other segments', async () => {
    const sharp = (await import('sharp')).default;
    const pic = await renderPicture({ name: 'Size', frame: 1, time: new Date(), width: 640, height: 360 });
    expect(jpegSize(insertComment(pic, 'a comment before the frame header'))).toEqual({
      width: 640,
      height: 360,
    });
    const progressive = await sharp(pic).resize(333).jpeg({ progressive: true }).toBuffer();
    expect(jpegSize(progressive)).toEqual({ width: 333, height: 187 });
  });

  test('null when there is no frame header before the image data', () => {
    expect(jpegSize(Buffer.from([0xff, 0xd8, 0xff, 0xda, 0, 2, 0xff, 0xd9]))).toBeNull();
    expect(jpegSize(Buffer.from([0xff, 0xd8]))).toBeNull();
    // A DHT segment (0xC4) is not a frame header.
    expect(jpegSize(Buffer.from([0xff, 0xd8, 0xff, 0xc4, 0, 2, 0xff, 0xda, 0, 2]))).toBeNull();
  });
});
