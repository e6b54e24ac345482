import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { h264ToJpegArgs } from '../../src/ffmpeg/args';
import { fpsModeOption, fromFfmpegInstaller, locateFfmpeg, probeFfmpeg } from '../../src/ffmpeg/locate';

describe('ffmpeg location', () => {
  test('FFMPEG_PATH wins when it is executable, and a bad FFMPEG_PATH is not silently replaced', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ffm-'));
    const fake = join(dir, 'ffmpeg');
    writeFileSync(fake, '#!/bin/sh\n');
    chmodSync(fake, 0o755);
    expect(locateFfmpeg({ FFMPEG_PATH: fake, PATH: '' })).toEqual({ path: fake, origin: 'FFMPEG_PATH' });
    expect(locateFfmpeg({ FFMPEG_PATH: join(dir, 'missing'), PATH: '/usr/bin' })).toBeNull();
  });

  test('falls back to the system ffmpeg, which can do TLS and H.264', async () => {
    const found = locateFfmpeg({ PATH: process.env.PATH });
    expect(found).not.toBeNull();
    const caps = await probeFfmpeg(found!.path);
    expect(caps.tls).not.toBeNull();
    expect(caps.h264Encoder).toBe('libx264');
    expect(caps.h264Decoder).toBe(true);
    expect(caps.mjpegEncoder).toBe(true);
  });

  test('the registry fallback (@ffmpeg-installer) is last: it can do TLS, H.264 both ways and MJPEG', async () => {
    const bundled = fromFfmpegInstaller();
    expect(bundled).toMatch(/node_modules\/@ffmpeg-installer\/linux-x64\/ffmpeg$/);
    // The system's ffmpeg comes before it.
    expect(locateFfmpeg({ PATH: process.env.PATH })?.origin).toBe('PATH');
    const caps = await probeFfmpeg(bundled!);
    expect(caps.tls).toBe('gnutls');
    expect(caps.h264Encoder).toBe('libx264');
    expect(caps.h264Decoder).toBe(true);
    expect(caps.mjpegEncoder).toBe(true);
  });

  test('the frame-rate option follows the binary: -fps_mode from ffmpeg 5.1, -vsync before', () => {
    expect(fpsModeOption(locateFfmpeg({ PATH: process.env.PATH })!.path)).toBe('-fps_mode');
    expect(fpsModeOption(fromFfmpegInstaller()!)).toBe('-vsync');
    expect(h264ToJpegArgs({ fps: 2, fpsModeOption: '-vsync' })).toContain('-vsync');
    expect(h264ToJpegArgs({ fps: 2 })).toContain('-fps_mode');
  });
});
