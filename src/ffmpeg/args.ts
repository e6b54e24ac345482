/**
 * ffmpeg argument lists (arrays, never a shell string) for bambucam's transcoders.
 * Measured choices are explained in docs/rtsp.md.
 */

const QUIET = ['-hide_banner', '-loglevel', 'error', '-nostats'];

export interface EncoderArgs {
  /** Output (and paced input) frame rate. */
  fps: number;
  /** Keyframe interval in seconds (≤ 2 so HLS segments and late joiners stay short). */
  keyframeSeconds: number;
  encoder?: string;
  /** `-vsync` for ffmpeg before 5.1 (locate.ts fpsModeOption). */
  fpsModeOption?: FpsModeOption;
}

/** The option that sets the frame-rate mode: `-fps_mode` since ffmpeg 5.1, `-vsync` before. */
export type FpsModeOption = '-fps_mode' | '-vsync';

/** The multipart boundary of the encoder's input: each JPEG is one part, with its Content-Length. */
export const ENCODER_BOUNDARY = 'bambucam-frame';

/**
 * JPEG frames on stdin, paced by bambucam at a constant rate → H.264 Constrained Baseline in FLV
 * on stdout (each picture one tag with its length: complete as soon as it is out; protocol/flv.ts). Constant rate comes from the pacing, so no fps filter (which would wait for
 * the camera's next frame and deliver in bursts at 0.5 fps).
 *
 * Every picture comes out as soon as its JPEG is in (measured: 10–60 ms), not one picture late:
 * the JPEGs arrive as multipart parts with their length (`mpjpeg`), where raw `mjpeg` input is only
 * cut at the next picture's start marker; the JPEG decoder runs on one thread (frame threads hold a
 * picture back); the input is not probed with a tiny probesize (which also held one back); and the
 * output keeps the input's timestamps (`-fps_mode passthrough`; a constant-rate output waits for
 * the next picture to decide about duplicates). Timestamps are arrival times; bambucam assigns
 * the stream's own.
 */
export function jpegToH264Args(a: EncoderArgs): string[] {
  const gop = Math.max(1, Math.round(a.fps * a.keyframeSeconds));
  // biome-ignore format: argv reads best in flag/value pairs
  return [
    ...QUIET,
    '-use_wallclock_as_timestamps', '1',
    '-f', 'mpjpeg',
    '-threads', '1',
    '-i', 'pipe:0',
    '-an',
    '-vf', 'scale=trunc(iw/2)*2:trunc(ih/2)*2,format=yuv420p',
    a.fpsModeOption ?? '-fps_mode', 'passthrough',
    '-c:v',
    a.encoder ?? 'libx264',
    '-preset',
    'ultrafast',
    '-tune',
    'zerolatency',
    '-profile:v',
    'baseline',
    '-g',
    String(gop),
    '-keyint_min',
    String(gop),
    '-sc_threshold',
    '0',
    '-bf',
    '0',
    '-threads',
    '1',
    '-flush_packets',
    '1',
    '-f',
    'flv',
    // A pipe cannot be rewound to write the duration at the end: do not try.
    '-flvflags',
    'no_duration_filesize',
    'pipe:1',
  ];
}

export interface DecoderArgs {
  /** JPEG frames per second wanted. */
  fps: number;
  /** mjpeg -q:v (2 best .. 31 worst). */
  quality?: number;
  /** `-vsync` for ffmpeg before 5.1 (locate.ts fpsModeOption). */
  fpsModeOption?: FpsModeOption;
}

/**
 * H.264 Annex-B on stdin → JFIF JPEGs on stdout at about `fps`. The select filter lets the first
 * picture out at once (the fps filter holds it back until the next interval) and uses wall-clock
 * timestamps, as raw H.264 carries none.
 */
export function h264ToJpegArgs(a: DecoderArgs): string[] {
  const gap = Math.max(0.01, 1 / a.fps - 0.01).toFixed(3);
  return [
    ...QUIET,
    '-fflags',
    'nobuffer',
    '-flags',
    'low_delay',
    '-threads',
    '1',
    '-probesize',
    '32',
    '-analyzeduration',
    '0',
    '-use_wallclock_as_timestamps',
    '1',
    '-f',
    'h264',
    '-i',
    'pipe:0',
    '-an',
    a.fpsModeOption ?? '-fps_mode',
    'passthrough',
    '-vf',
    `select='isnan(prev_selected_t)+gte(t-prev_selected_t\\,${gap})'`,
    '-c:v',
    'mjpeg',
    '-pix_fmt',
    'yuvj420p',
    '-q:v',
    String(a.quality ?? 5),
    '-f',
    'image2pipe',
    'pipe:1',
  ];
}
