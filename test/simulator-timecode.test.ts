/** The simulator's machine-readable clock (for the latency benchmarks) survives JPEG and H.264. */
import { execFile } from 'node:child_process';
import sharp from 'sharp';
import { locateFfmpeg } from '../src/ffmpeg/locate';
import { renderPicture } from '../src/simulator/picture';
import { readTimecode, timecodeAge, timecodeFilters, timecodeValue } from '../src/simulator/timecode';

jest.setTimeout(30_000);

function lumaOf(raw: Buffer, width: number) {
  return (x: number, y: number) => raw[y * width + x];
}

test('a chamber picture carries the time it was drawn, readable after JPEG', async () => {
  const time = new Date(1_760_000_123_456);
  const jpeg = await renderPicture({ name: 'Clock', frame: 1, time, timecode: true });
  const { data, info } = await sharp(jpeg).greyscale().raw().toBuffer({ resolveWithObject: true });
  expect(readTimecode(lumaOf(data, info.width))).toBe(timecodeValue(time.getTime()));
  // Without the strip there is nothing to read.
  const plain = await renderPicture({ name: 'Clock', frame: 1, time });
  const p = await sharp(plain).greyscale().raw().toBuffer({ resolveWithObject: true });
  expect(readTimecode(lumaOf(p.data, p.info.width))).toBeNull();
});

test('ffmpeg draws the wall clock into H.264 pictures (the RTSPS simulator’s filters)', async () => {
  const ffmpeg = locateFfmpeg()?.path ?? 'ffmpeg';
  const before = Date.now();
  // biome-ignore format: argv pairs
  const args = ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30',
    '-vf', timecodeFilters(30), '-frames:v', '5', '-c:v', 'libx264', '-preset', 'ultrafast', '-f', 'h264', 'pipe:1'];
  const h264 = await new Promise<Buffer>((resolve, reject) => {
    const child = execFile(ffmpeg, args, { encoding: 'buffer', maxBuffer: 16 << 20 }, (err, out, stderr) =>
      err ? reject(new Error(String(stderr))) : resolve(out),
    );
    child.stdin?.end();
  });
  const gray = await new Promise<Buffer>((resolve, reject) => {
    // biome-ignore format: argv pairs
    const child = execFile(ffmpeg, ['-hide_banner', '-loglevel', 'error', '-f', 'h264', '-i', 'pipe:0',
      '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1'], { encoding: 'buffer', maxBuffer: 16 << 20 },
      (err, out, stderr) => (err ? reject(new Error(String(stderr))) : resolve(out)));
    child.stdin?.end(h264);
  });
  const value = readTimecode(lumaOf(gray, 640));
  expect(value).not.toBeNull();
  const age = timecodeAge(value!, Date.now());
  expect(age).toBeLessThanOrEqual(Date.now() - before);
  expect(age).toBeGreaterThanOrEqual(0);
});
