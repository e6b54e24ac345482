/** Child processes for benchmarks, and their CPU time and memory read from /proc. */
import { type ChildProcess, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';

const CLK_TCK = 100; // Linux USER_HZ

/** CPU seconds a process has used so far, in user space and in the kernel. */
export function cpuSeconds(pid: number): { user: number; sys: number; total: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const user = Number(fields[11]) / CLK_TCK;
  const sys = Number(fields[12]) / CLK_TCK;
  return { user, sys, total: user + sys };
}

export function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

export interface Child<T> {
  proc: ChildProcess;
  /** The first message the child sent (its ports, say). */
  ready: Promise<T>;
  request<R>(msg: object): Promise<R>;
  stop(): Promise<void>;
}

/** Fork a Node script with IPC; it must send one message when ready and answer later messages. */
export function startChild<T>(
  script: string,
  args: string[] = [],
  env: NodeJS.ProcessEnv = {},
  execArgv: string[] = [],
): Child<T> {
  const proc = fork(script, args, {
    env: { ...process.env, ...env },
    execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ready = new Promise<T>((resolve, reject) => {
    proc.once('message', (m) => resolve(m as T));
    proc.once('exit', (code) => reject(new Error(`${script} exited with ${code} before it was ready`)));
  });
  ready.catch(() => {}); // only an error for callers that wait for it
  return {
    proc,
    ready,
    request<R>(msg: object): Promise<R> {
      return new Promise((resolve) => {
        proc.once('message', (m) => resolve(m as R));
        proc.send(msg);
      });
    },
    stop() {
      return new Promise((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
        setTimeout(() => proc.kill('SIGKILL'), 3000).unref();
      });
    },
  };
}

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
