/** Real RTSP clients for tests: ffprobe and ffmpeg (never bambucam's own client code). */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { locateFfmpeg, locateFfprobe } from '../src/ffmpeg/locate';

export const FFMPEG = locateFfmpeg()?.path ?? 'ffmpeg';
export const FFPROBE = locateFfprobe() ?? 'ffprobe';

export interface ProbedStream {
  codec_name: string;
  codec_type: string;
  width: number;
  height: number;
  profile?: string;
}

/** ffprobe an RTSP(S) URL over TCP; rejects with ffprobe's stderr. */
export function ffprobe(url: string, timeoutMs = 20_000): Promise<ProbedStream[]> {
  return new Promise((resolve, reject) => {
    execFile(
      FFPROBE,
      ['-v', 'error', '-rtsp_transport', 'tcp', '-show_streams', '-of', 'json', url],
      { timeout: timeoutMs },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`ffprobe failed: ${stderr || err.message}`));
        resolve((JSON.parse(stdout) as { streams: ProbedStream[] }).streams);
      },
    );
  });
}

/** Decode `frames` pictures from an RTSP(S) URL with ffmpeg; resolves with the decoded frame count. */
export function ffmpegDecode(
  url: string,
  frames: number,
  timeoutMs = 20_000,
): Promise<{ frames: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      FFMPEG,
      [
        '-hide_banner',
        '-v',
        'error',
        '-stats',
        '-rtsp_transport',
        'tcp',
        '-i',
        url,
        '-frames:v',
        String(frames),
        '-f',
        'null',
        '-',
      ],
      { timeout: timeoutMs },
      (err, _stdout, stderr) => {
        if (err) return reject(new Error(`ffmpeg failed: ${stderr || err.message}`));
        const all = [...stderr.matchAll(/frame=\s*(\d+)/g)];
        resolve({ frames: all.length ? Number(all[all.length - 1][1]) : 0, stderr });
      },
    );
  });
}

/** A long-running ffmpeg viewer that decodes and counts pictures (from -progress on stdout). */
export class FfmpegViewer {
  readonly child: ChildProcess;
  frames = 0;
  stderr = '';
  exited: Promise<number | null>;

  constructor(url: string) {
    this.child = spawn(
      FFMPEG,
      [
        '-hide_banner',
        '-v',
        'error',
        '-nostats',
        '-progress',
        'pipe:1',
        '-rtsp_transport',
        'tcp',
        '-i',
        url,
        '-f',
        'null',
        '-',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child.stdout?.on('data', (d: Buffer) => {
      for (const m of d.toString().matchAll(/frame=(\d+)/g)) this.frames = Number(m[1]);
    });
    this.child.stderr?.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
    });
    this.exited = new Promise((resolve) => this.child.on('close', (code) => resolve(code)));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async stop(): Promise<void> {
    if (this.running) this.child.kill('SIGKILL');
    await this.exited;
  }
}
