/**
 * The chamber printers' encoder (src/ffmpeg/encoder.ts) with a real ffmpeg: its FLV output becomes
 * access units, keyframes with SPS and PPS of the picture's size; an ffmpeg whose output is not FLV
 * is restarted, never a crash.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { JpegToH264Encoder } from '../src/ffmpeg/encoder';
import { H264Stream, type StreamUnit } from '../src/hub/h264-stream';
import { JpegHub } from '../src/hub/jpeg-hub';
import { rootLogger } from '../src/log';
import { NAL, nalType, parseSps } from '../src/protocol/h264';
import { waitFor } from './helpers';
import { FFMPEG } from './rtsp-tools';

jest.setTimeout(30_000);

async function jpeg(): Promise<Buffer> {
  return sharp({ create: { width: 320, height: 240, channels: 3, background: { r: 40, g: 90, b: 160 } } })
    .jpeg()
    .toBuffer();
}

describe('JPEG → H.264 encoder', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bambucam-encoder-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('pictures come out of its FLV as access units; keyframes carry SPS and PPS of the size', async () => {
    const hub = new JpegHub();
    const stream = new H264Stream('t');
    const units: StreamUnit[] = [];
    stream.on('unit', (u: StreamUnit) => units.push(u));
    const encoder = new JpegToH264Encoder({ ffmpegPath: FFMPEG, hub, stream, log: rootLogger.child('test') });
    hub.publish(await jpeg());
    encoder.start();
    try {
      await waitFor(() => units.length >= 12, 15_000, 'a second of pictures');
      expect(units[0].key).toBe(true);
      expect(units[0].nals.slice(0, 2).map(nalType)).toEqual([NAL.SPS, NAL.PPS]);
      const sps = parseSps(units[0].nals[0]);
      expect([sps.width, sps.height, sps.profileIdc]).toEqual([320, 240, 66]);
      // One keyframe a second at 10 fps, and every one starts with its parameter sets.
      const keys = units.filter((u) => u.key);
      expect(keys.length).toBeGreaterThanOrEqual(2);
      for (const k of keys) expect(k.nals.slice(0, 2).map(nalType)).toEqual([NAL.SPS, NAL.PPS]);
      expect(encoder.process.restarts).toBe(0);
    } finally {
      await encoder.stop();
    }
  });

  test('an ffmpeg whose output is not FLV is restarted, with the reason', async () => {
    const fake = join(dir, 'not-flv-ffmpeg');
    // Asked for its options (-h), it has none; run, it writes Annex-B-looking bytes.
    writeFileSync(
      fake,
      '#!/bin/sh\ncase "$*" in *" -h "*) exit 0;; esac\nwhile :; do printf "\\000\\000\\000\\001garbage"; sleep 0.1; done\n',
    );
    chmodSync(fake, 0o755);
    const hub = new JpegHub();
    const stream = new H264Stream('t');
    const encoder = new JpegToH264Encoder({
      ffmpegPath: fake,
      hub,
      stream,
      log: rootLogger.child('test'),
      backoffMs: [100],
    });
    hub.publish(await jpeg());
    encoder.start();
    try {
      await waitFor(() => encoder.process.restarts >= 2, 10_000, 'restarts');
      expect(encoder.process.lastError).toMatch(/not valid FLV/);
      expect(stream.unitsIn).toBe(0);
    } finally {
      await encoder.stop();
    }
  });
});
