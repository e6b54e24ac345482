/**
 * A supervised ffmpeg child: argv array (never a shell), argv and stderr redacted before they reach
 * a log line, the stderr tail attached to every failure, a staged stop (q or end of input, then
 * SIGTERM, then SIGKILL), and restart with stepped backoff when it exits or goes silent while it is
 * still wanted. Whoever feeds or reads it stays attached across restarts.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { type Logger, redact } from '../log';

export interface FfmpegProcessOptions {
  path: string;
  args: string[];
  log: Logger;
  /** stdin is the input (`-i pipe:0`): stop by ending it instead of sending `q`. */
  stdinIsInput?: boolean;
  onStdout: (chunk: Buffer) => void;
  /** No stdout for this long (after the first `silentGraceMs`) counts as hung: killed and restarted. */
  silentMs?: number;
  silentGraceMs?: number;
  backoffMs?: number[];
  /** Stage waits of stop(): after q/EOF, then after SIGTERM. */
  stopStagesMs?: [number, number];
}

export const FFMPEG_BACKOFF_MS = [500, 2000, 5000, 10000, 30000];
const STDERR_TAIL_BYTES = 4096;

/** The last lines of stderr, redacted, on one line. */
function tailText(tail: string): string {
  const lines = redact(tail).trim().split('\n').slice(-4);
  return lines.join(' | ');
}

export class FfmpegProcess extends EventEmitter {
  starts = 0;
  restarts = 0;
  lastError: string | null = null;
  lastOutputAt: number | null = null;
  /** First write to stdin since the process started: a process nobody fed yet is not "silent". */
  private firstInputAt: number | null = null;
  private child: ChildProcess | null = null;
  private stderrTail = '';
  private wanted = false;
  private failures = 0;
  private startedAt = 0;
  private restartTimer: NodeJS.Timeout | null = null;
  private watchdog: NodeJS.Timeout | null = null;
  private exited: Promise<void> = Promise.resolve();

  constructor(private readonly opts: FfmpegProcessOptions) {
    super();
  }

  get running(): boolean {
    return this.child !== null;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): void {
    if (this.wanted) return;
    this.wanted = true;
    this.failures = 0;
    this.spawnOnce();
  }

  /** Write to stdin; false when there is no process or its pipe is full (caller drops). */
  write(chunk: Buffer): boolean {
    const stdin = this.child?.stdin;
    if (!stdin || stdin.destroyed || !stdin.writable) return false;
    if (stdin.writableLength > 4 * 1024 * 1024) return false;
    this.firstInputAt ??= Date.now();
    stdin.write(chunk);
    return true;
  }

  get stdinBacklog(): number {
    return this.child?.stdin?.writableLength ?? 0;
  }

  private spawnOnce(): void {
    const { path, args, log } = this.opts;
    this.starts++;
    this.startedAt = Date.now();
    this.stderrTail = '';
    this.lastOutputAt = null;
    this.firstInputAt = null;
    log.debug(`starting ${redact([path, ...args].join(' '))}`);
    const child = spawn(path, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    let resolveExit!: () => void;
    this.exited = new Promise((r) => {
      resolveExit = r;
    });
    child.stdin?.on('error', () => {}); // EPIPE when ffmpeg exits first
    child.stdout?.on('data', (chunk: Buffer) => {
      this.lastOutputAt = Date.now();
      this.opts.onStdout(chunk);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-STDERR_TAIL_BYTES);
    });
    child.on('error', (err) => {
      this.lastError = `ffmpeg could not start: ${redact(err.message)}`;
    });
    child.on('close', (code, signal) => {
      if (this.child === child) this.child = null;
      this.clearWatchdog();
      resolveExit();
      this.onExit(code, signal);
    });
    this.emit('spawn');
    this.armWatchdog(child);
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    const { log } = this.opts;
    if (!this.wanted) {
      log.debug(`stopped (${signal ?? `exit ${code}`})`);
      return;
    }
    const how = signal ? `killed by ${signal}` : `exited with code ${code}`;
    const tail = tailText(this.stderrTail);
    this.lastError = `ffmpeg ${how}${tail ? `: ${tail}` : ''}`;
    if (Date.now() - this.startedAt > 30_000) this.failures = 0;
    const steps = this.opts.backoffMs ?? FFMPEG_BACKOFF_MS;
    const wait = steps[Math.min(this.failures++, steps.length - 1)];
    log.warn(`${this.lastError}; restarting in ${Math.round(wait / 100) / 10} s`);
    this.emit('exit', this.lastError);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (!this.wanted) return;
      this.restarts++;
      this.spawnOnce();
    }, wait);
  }

  private armWatchdog(child: ChildProcess): void {
    const silentMs = this.opts.silentMs;
    if (!silentMs) return;
    const grace = this.opts.silentGraceMs ?? silentMs;
    this.watchdog = setInterval(
      () => {
        const now = Date.now();
        if (this.opts.stdinIsInput && this.firstInputAt === null) return;
        const since = Math.max(this.lastOutputAt ?? 0, this.firstInputAt ?? this.startedAt);
        const limit = this.lastOutputAt === null ? grace : silentMs;
        if (now - since > limit) {
          this.opts.log.warn(`no output for ${Math.round((now - since) / 1000)} s: killing ffmpeg`);
          this.lastError = `ffmpeg silent for ${Math.round((now - since) / 1000)} s`;
          child.kill('SIGKILL');
        }
      },
      Math.max(100, Math.min(1000, silentMs / 4)),
    );
    this.watchdog.unref();
  }

  private clearWatchdog(): void {
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = null;
  }

  /** The output made no sense (its parser gave up): kill this process; it restarts as after a crash. */
  abort(reason: string): void {
    const child = this.child;
    if (!child) return;
    this.opts.log.warn(`${reason}: restarting ffmpeg`);
    this.lastError = reason;
    child.kill('SIGKILL');
  }

  /** Stop in stages and resolve once the process has exited. */
  async stop(): Promise<void> {
    this.wanted = false;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    const child = this.child;
    if (!child) return;
    this.clearWatchdog();
    const [graceMs, termMs] = this.opts.stopStagesMs ?? [1500, 2000];
    if (this.opts.stdinIsInput) child.stdin?.end();
    else child.stdin?.write('q');
    const exited = this.exited;
    const timed = (ms: number) => {
      let timer: NodeJS.Timeout | undefined;
      return Promise.race([
        exited.then(() => true),
        new Promise<boolean>((r) => {
          timer = setTimeout(() => r(false), ms);
        }),
      ]).finally(() => clearTimeout(timer));
    };
    if (await timed(graceMs)) return;
    child.kill('SIGTERM');
    if (await timed(termMs)) return;
    child.kill('SIGKILL');
    await exited;
  }
}
