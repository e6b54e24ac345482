import { bodyWrites } from '../../src/protocol/chamber';

describe('chamber frame body writes', () => {
  const jpeg = (n: number) => Buffer.alloc(n, 7);

  test('with the 4096-byte fragment limit the body is one write, unless its last record would be 16 bytes', () => {
    expect(bodyWrites(jpeg(50_000), true).map((b) => b.length)).toEqual([50_000]);
    const n = 4096 * 3 + 16;
    const writes = bodyWrites(jpeg(n), true).map((b) => b.length);
    expect(writes).toEqual([n - 17, 17]);
    // Cut by OpenSSL into 4096-byte records, the first write ends with a 4095-byte record.
    expect((n - 17) % 4096).toBe(4095);
  });

  test('without the limit the body goes in ≤ 4096-byte writes, never a last one of 16 bytes', () => {
    for (const n of [1, 16, 4096, 4097, 4096 + 16, 3 * 4096 + 16, 123_456]) {
      const sizes = bodyWrites(jpeg(n), false).map((b) => b.length);
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(n);
      expect(Math.max(...sizes)).toBeLessThanOrEqual(4096);
      if (n > 16) expect(sizes[sizes.length - 1]).not.toBe(16);
    }
  });
});
