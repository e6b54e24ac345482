/**
 * Which ffmpeg bambucam uses, and what it can do.
 *
 * Order (docs/ffmpeg.md):
 * 1. FFMPEG_PATH — the user's choice wins;
 * 2. the ffmpeg-static package (ffmpeg 6.1), only there when its install script could download the
 *    binary, i.e. the user's install chose it (an optional dependency; offline it is skipped);
 * 3. `ffmpeg` on the PATH — the system's, kept up to date by its package manager;
 * 4. @ffmpeg-installer/ffmpeg — a static 2018 build (libx264, GnuTLS) that ships inside the
 *    registry tarball, so `npm ci` gives every output even offline on a machine without ffmpeg;
 *    last, because it is old and gets no security fixes.
 */
import { execFile, execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { FpsModeOption } from './args';

export type FfmpegOrigin = 'FFMPEG_PATH' | 'ffmpeg-static' | 'PATH' | '@ffmpeg-installer/ffmpeg';

export interface FfmpegLocation {
  path: string;
  origin: FfmpegOrigin;
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function fromFfmpegStatic(): string | null {
  try {
    // The package exports the path of the binary its install script downloaded (or would have).
    const path = require('ffmpeg-static') as string | null;
    return path && executable(path) ? path : null;
  } catch {
    return null;
  }
}

/** The binary inside @ffmpeg-installer's platform package (its index throws on other platforms). */
export function fromFfmpegInstaller(): string | null {
  try {
    const { path } = require('@ffmpeg-installer/ffmpeg') as { path: string };
    return executable(path) ? path : null;
  } catch {
    return null;
  }
}

function fromPath(name: string, env: NodeJS.ProcessEnv): string | null {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && executable(join(dir, name))) return join(dir, name);
  }
  return null;
}

/** Find ffmpeg; null when there is none (the caller says how to install one). */
export function locateFfmpeg(env: NodeJS.ProcessEnv = process.env): FfmpegLocation | null {
  if (env.FFMPEG_PATH)
    return executable(env.FFMPEG_PATH) ? { path: env.FFMPEG_PATH, origin: 'FFMPEG_PATH' } : null;
  const bundled = fromFfmpegStatic();
  if (bundled) return { path: bundled, origin: 'ffmpeg-static' };
  const system = fromPath('ffmpeg', env);
  if (system) return { path: system, origin: 'PATH' };
  const fallback = fromFfmpegInstaller();
  return fallback ? { path: fallback, origin: '@ffmpeg-installer/ffmpeg' } : null;
}

/** ffprobe beside the chosen ffmpeg, else on the PATH. */
export function locateFfprobe(env: NodeJS.ProcessEnv = process.env): string | null {
  const ffmpeg = locateFfmpeg(env);
  if (ffmpeg) {
    const sibling = ffmpeg.path.replace(/ffmpeg(\.exe)?$/, 'ffprobe$1');
    if (sibling !== ffmpeg.path && executable(sibling)) return sibling;
  }
  return fromPath('ffprobe', env);
}

export const FFMPEG_MISSING_HINT =
  'no ffmpeg found: install one (Debian/Ubuntu: apt-get install ffmpeg; macOS: brew install ffmpeg) or set FFMPEG_PATH to an ffmpeg binary';

export const FFMPEG_FALLBACK_NOTE =
  "bambucam's bundled fallback (@ffmpeg-installer/ffmpeg, a static build from 2018 without security fixes): it does everything bambucam needs; for a maintained one, apt-get install ffmpeg (Debian/Ubuntu) or set FFMPEG_PATH";

const fpsModeOptions = new Map<string, FpsModeOption>();

/**
 * The option that sets the frame-rate mode: `-fps_mode` since ffmpeg 5.1, `-vsync` before (and
 * deprecated after). Asked once per binary (its option list, ~50 ms), for ffmpeg 4.x builds such
 * as the bundled fallback and Ubuntu 22.04's.
 */
export function fpsModeOption(path: string): FpsModeOption {
  let option = fpsModeOptions.get(path);
  if (!option) {
    try {
      const help = execFileSync(path, ['-hide_banner', '-h', 'long'], {
        encoding: 'utf8',
        timeout: 10_000,
        maxBuffer: 8 * 1024 * 1024,
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      option = /^-fps_mode\b/m.test(help) || !/^-vsync\b/m.test(help) ? '-fps_mode' : '-vsync';
    } catch {
      option = '-fps_mode';
    }
    fpsModeOptions.set(path, option);
  }
  return option;
}

export interface FfmpegCapabilities {
  version: string;
  /** TLS library ffmpeg was built with ('openssl', 'gnutls', ...) or null without TLS. */
  tls: string | null;
  /** Best H.264 encoder available, or null. */
  h264Encoder: string | null;
  h264Decoder: boolean;
  mjpegEncoder: boolean;
}

function run(path: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      path,
      ['-hide_banner', ...args],
      { timeout: 10_000, maxBuffer: 8 * 1024 * 1024 },
      (err, stdout) => (err ? reject(err) : resolve(stdout)),
    );
  });
}

/** Ask an ffmpeg binary what it can do. */
export async function probeFfmpeg(path: string): Promise<FfmpegCapabilities> {
  const [version, protocols, encoders, decoders] = await Promise.all([
    run(path, ['-version']),
    run(path, ['-protocols']),
    run(path, ['-encoders']),
    run(path, ['-decoders']),
  ]);
  const config = /configuration:(.*)/.exec(version)?.[1] ?? '';
  const tlsLib =
    /--enable-(openssl|gnutls|libtls|mbedtls|securetransport|schannel)/.exec(config)?.[1] ?? null;
  const hasTls = /^\s*tls\s*$/m.test(protocols);
  const encoder = (name: string) => new RegExp(`^\\s*V\\S*\\s+${name}\\s`, 'm').test(encoders);
  return {
    version: /ffmpeg version (\S+)/.exec(version)?.[1] ?? 'unknown',
    tls: hasTls ? (tlsLib ?? 'yes') : null,
    h264Encoder: ['libx264', 'libopenh264', 'h264_v4l2m2m'].find(encoder) ?? null,
    h264Decoder: /^\s*V\S*\s+h264\s/m.test(decoders),
    mjpegEncoder: encoder('mjpeg'),
  };
}
