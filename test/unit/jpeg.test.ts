import { ensureJfif, insertComment, isJfif, readComment } from '../../src/protocol/jpeg';
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
