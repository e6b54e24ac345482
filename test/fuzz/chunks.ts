/** Shared pieces of the parsers' property tests: arbitrary chunking of a byte stream. */
import fc from 'fast-check';

/** Cut `buf` at the given positions (taken modulo its length, in any order, repeats allowed). */
export function splitAt(buf: Buffer, cuts: number[]): Buffer[] {
  if (buf.length === 0) return [buf];
  const at = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of [...at, buf.length]) {
    out.push(buf.subarray(prev, c));
    prev = c;
  }
  return out;
}

/** Every split of `buf` into two pieces, one byte boundary at a time. */
export function* everyBoundary(buf: Buffer): Generator<[Buffer, Buffer]> {
  for (let i = 0; i <= buf.length; i++) yield [buf.subarray(0, i), buf.subarray(i)];
}

export const cuts = fc.array(fc.nat(), { maxLength: 24 });
export const bytes = (maxLength = 2048) => fc.uint8Array({ maxLength }).map((a) => Buffer.from(a));

/** Run counts: enough to find what these find in a second or two each, all together well under a minute. */
export const RUNS = { numRuns: 300 };

/** Overwrite bytes of `buf` (a copy) at the given positions, and maybe cut it short: a damaged stream. */
export function mutate(buf: Buffer, edits: [number, number][], cutTo?: number): Buffer {
  const out = Buffer.from(buf);
  if (out.length) for (const [pos, value] of edits) out[pos % out.length] = value;
  return cutTo === undefined ? out : out.subarray(0, cutTo % (out.length + 1));
}
export const edits = fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 });
export const cutTo = fc.option(fc.nat(), { nil: undefined });

/** A NAL unit as encoders make them: a header byte, no 00 00 0x inside, a non-zero last byte. */
export const nal = (types: number[]) =>
  fc.tuple(fc.constantFrom(...types), fc.uint8Array({ maxLength: 4000 })).map(([type, body]) => {
    const out: number[] = [0x60 | type];
    for (const b of body) {
      // Emulation prevention, as an encoder would: never two zeros then a byte below 4.
      if (out.length >= 2 && out[out.length - 1] === 0 && out[out.length - 2] === 0 && b < 4) out.push(3);
      out.push(b);
    }
    if (out[out.length - 1] === 0) out.push(0x80);
    return Buffer.from(out);
  });
