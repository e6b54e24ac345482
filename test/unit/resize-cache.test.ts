/**
 * The gateway's resizer turns libvips's operation cache off: each resize reads a new picture, so the
 * cache never hits and only kept memory after a burst of distinct sizes (issue 13, finding 6).
 */
import sharp from 'sharp';
import '../../src/serve/http/snapshot';

test('loading the snapshot resizer leaves libvips with no operation cache', () => {
  const stats = sharp.cache();
  expect(stats.memory.max).toBe(0);
  expect(stats.items.max).toBe(0);
  expect(stats.files.max).toBe(0);
});
