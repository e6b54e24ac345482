/**
 * The small parsers added with issue 13: JPEG frame headers (picture size for resizing), the
 * kernel's TCP table (pacing) and remote addresses (per-address limits). Contract: any input
 * answers, never throws.
 */
import fc from 'fast-check';
import { jpegSize } from '../../src/protocol/jpeg';
import { addressKey } from '../../src/serve/guard/address-key';
import { parseProcNetTcp } from '../../src/serve/pacing/proc-net-tcp';
import { bytes, cutTo, edits, mutate, RUNS } from './chunks';

const SOF = Buffer.from([
  0xff, 0xd8, 0xff, 0xe0, 0, 4, 0, 0, 0xff, 0xc0, 0, 11, 8, 0, 0x2d, 0x01, 0x40, 1, 1, 0x11, 0, 0xff, 0xd9,
]);

describe('small parsers', () => {
  test('jpegSize: a size or null for any bytes', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          bytes(200),
          fc.tuple(edits, cutTo).map(([e, c]) => mutate(SOF, e, c)),
        ),
        (data) => {
          const size = jpegSize(data);
          if (size) expect(size.width > 0 && size.height > 0).toBe(true);
        },
      ),
      RUNS,
    );
    expect(jpegSize(SOF)).toEqual({ width: 320, height: 45 });
  });

  test('parseProcNetTcp: any text gives a table of non-negative byte counts', () => {
    const field = fc.oneof(
      fc.string({ maxLength: 12 }),
      fc.stringMatching(/^[0-9A-F]{8}:[0-9A-F]{4}$/),
      fc.stringMatching(/^[0-9A-F]{32}:[0-9A-F]{4}$/),
      fc.constantFrom('01', '0A', '00000010:00000000'),
    );
    const line = fc.array(field, { maxLength: 8 }).map((f) => `  0: ${f.join(' ')}`);
    fc.assert(
      fc.property(
        fc.array(fc.oneof(line, fc.string({ maxLength: 80 })), { maxLength: 20 }),
        fc.boolean(),
        (lines, le) => {
          for (const v of parseProcNetTcp(lines.join('\n'), le).values()) expect(v).toBeGreaterThanOrEqual(0);
        },
      ),
      RUNS,
    );
  });

  test('addressKey: any text gives a key', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 50 }),
          fc.ipV4(),
          fc.ipV6(),
          fc.ipV4().map((ip) => `::ffff:${ip}`),
        ),
        (a) => {
          expect(typeof addressKey(a)).toBe('string');
        },
      ),
      RUNS,
    );
  });
});
