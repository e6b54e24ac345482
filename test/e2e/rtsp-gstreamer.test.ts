/**
 * bambucam's RTSP server read by GStreamer's rtspsrc (a client that is neither ffmpeg nor ours):
 * its RTP depayloader checks our RFC 6184 packetization and h264parse our parameter sets. rtspsrc
 * tries UDP first, so this also covers the 461 → TCP fallback that VLC and others rely on.
 */
import { execFile } from 'node:child_process';
import { type Gateway, spec, startGateway } from '../helpers';

jest.setTimeout(60_000);

function gstCount(url: string, buffers: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'gst-launch-1.0',
      [
        'rtspsrc',
        `location=${url}`,
        'latency=0',
        '!',
        'rtph264depay',
        '!',
        'h264parse',
        '!',
        'video/x-h264,stream-format=byte-stream,alignment=au',
        '!',
        'fakesink',
        `num-buffers=${buffers}`,
        'silent=false',
        '-v',
      ],
      { timeout: 30_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) =>
        err ? reject(new Error(`gst-launch failed: ${stderr || err.message}`)) : resolve(stdout),
    );
  });
}

describe('RTSP output read by GStreamer', () => {
  let gw: Gateway | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  test('rtspsrc (UDP first, then TCP after 461) depayloads whole H.264 access units of the right size', async () => {
    gw = await startGateway([spec({ fps: 2 })]);
    const out = await gstCount(`${gw.rtspBase}/${gw.fleet[0].spec.id}`, 20);
    expect(out).toMatch(/width=\(int\)1280/);
    expect(out).toMatch(/height=\(int\)720/);
    expect(out).toMatch(/profile=\(string\)constrained-baseline/);
    expect((out.match(/chain/g) ?? []).length).toBeGreaterThanOrEqual(20);
    expect(gw.app.rtsp!.stats.unsupportedTransport).toBeGreaterThanOrEqual(1);
  });
});
