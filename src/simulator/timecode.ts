/**
 * A clock that machines can read, drawn into the simulator's pictures for latency benchmarks: a strip
 * of 16×16 blocks along the top-left edge, a white guard block, 24 bits of the wall-clock time in
 * milliseconds (least significant first, white = 1), a black guard block. 16-pixel blocks on the
 * macroblock grid survive JPEG and H.264 compression; a viewer that reads the strip from the picture
 * it shows knows how old that picture is (glass to glass). Pure: no I/O, usable in a browser.
 */

export const TIMECODE_BLOCK = 16;
export const TIMECODE_BITS = 24;
const MODULO = 2 ** TIMECODE_BITS;
/** Guard, data bits, guard. */
export const TIMECODE_BLOCKS = TIMECODE_BITS + 2;
export const TIMECODE_WIDTH = TIMECODE_BLOCKS * TIMECODE_BLOCK;

/** The 24-bit value drawn for a wall-clock time in ms. */
export function timecodeValue(ms: number): number {
  return Math.floor(ms) % MODULO;
}

/** SVG rectangles drawing the strip for time `ms` at the picture's top-left corner. */
export function timecodeSvg(ms: number): string {
  const value = timecodeValue(ms);
  const b = TIMECODE_BLOCK;
  const rects = [`<rect x="0" y="0" width="${TIMECODE_WIDTH}" height="${b}" fill="#000"/>`];
  rects.push(`<rect x="0" y="0" width="${b}" height="${b}" fill="#fff"/>`);
  for (let bit = 0; bit < TIMECODE_BITS; bit++) {
    if ((value >>> bit) & 1)
      rects.push(`<rect x="${(bit + 1) * b}" y="0" width="${b}" height="${b}" fill="#fff"/>`);
  }
  return rects.join('');
}

/**
 * ffmpeg filters drawing the same strip from the frame's wall-clock time. The frame's timestamps are
 * replaced by the real-time clock (RTCTIME, µs) while the strip is drawn, then made regular again.
 */
export function timecodeFilters(fps: number): string {
  const b = TIMECODE_BLOCK;
  const box = (x: number, color: string, enable?: string) =>
    `drawbox=x=${x}:y=0:w=${b}:h=${b}:color=${color}:t=fill${enable ? `:enable=${enable}` : ''}`;
  const filters = [
    'settb=1/1000000',
    'setpts=RTCTIME',
    `drawbox=x=0:y=0:w=${TIMECODE_WIDTH}:h=${b}:color=black:t=fill`,
    box(0, 'white'),
  ];
  for (let bit = 0; bit < TIMECODE_BITS; bit++) {
    // t is the wall-clock time in seconds; bit `bit` of its milliseconds.
    filters.push(box((bit + 1) * b, 'white', `mod(floor(t*1000/${2 ** bit})\\,2)`));
  }
  filters.push(`setpts=N/(${fps}*TB)`);
  return filters.join(',');
}

/**
 * The value in a picture's strip, given the picture's luma (0..255) at a point; null when the guard
 * blocks are not there (no strip, or a picture damaged in transit).
 */
export function readTimecode(luma: (x: number, y: number) => number): number | null {
  const b = TIMECODE_BLOCK;
  const white = (block: number) => {
    let sum = 0;
    let n = 0;
    // The block's middle, away from edges that compression smears.
    for (let y = 4; y < b - 4; y += 2)
      for (let x = block * b + 4; x < (block + 1) * b - 4; x += 2) {
        sum += luma(x, y);
        n++;
      }
    return sum / n > 128;
  };
  if (!white(0) || white(TIMECODE_BLOCKS - 1)) return null;
  let value = 0;
  for (let bit = 0; bit < TIMECODE_BITS; bit++) if (white(bit + 1)) value += 2 ** bit;
  return value;
}

/** How many ms before `nowMs` the value was drawn (the clock wraps every 2^24 ms, about 4.7 hours). */
export function timecodeAge(value: number, nowMs: number): number {
  return (((timecodeValue(nowMs) - value) % MODULO) + MODULO) % MODULO;
}
