/** Child processes for benchmarks, and their CPU time and memory read from /proc. */
import { type ChildProcess, fork } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

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

/** The parent pid and command name of a process, or null once it is gone. */
function statOf(pid: number): { ppid: number; comm: string } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = stat.lastIndexOf(')');
    return {
      comm: stat.slice(stat.indexOf('(') + 1, close),
      ppid: Number(stat.slice(close + 2).split(' ')[1]),
    };
  } catch {
    return null;
  }
}

/** A process and all its descendants (ffmpeg children of the gateway, say), as pid → command name. */
export function processTree(root: number): Map<number, string> {
  const parents = new Map<number, { ppid: number; comm: string }>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = statOf(Number(name));
    if (s) parents.set(Number(name), s);
  }
  const tree = new Map<number, string>();
  const rootStat = parents.get(root);
  if (!rootStat) return tree;
  tree.set(root, rootStat.comm);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, s] of parents) {
      if (!tree.has(pid) && tree.has(s.ppid)) {
        tree.set(pid, s.comm);
        grew = true;
      }
    }
  }
  return tree;
}

/** CPU seconds of every process in a tree, by pid (processes that vanish meanwhile are skipped). */
export function treeCpu(root: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const pid of processTree(root).keys()) {
    try {
      out.set(pid, cpuSeconds(pid).total);
    } catch {
      // exited
    }
  }
  return out;
}

/** CPU seconds a tree used between two treeCpu() readings (a process started meanwhile counts from 0). */
export function cpuBetween(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, cpu] of after) total += cpu - (before.get(pid) ?? 0);
  return total;
}

/** Resident memory of every process in a tree, in MiB. */
export function treeRssMiB(root: number): number {
  let total = 0;
  for (const pid of processTree(root).keys()) {
    try {
      total += rssMiB(pid);
    } catch {
      // exited
    }
  }
  return total;
}

/** Established TCP connections (IPv4 and IPv6) whose local port is `port`: clients of a server. */
export function establishedTo(port: number): number {
  let n = 0;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 4) continue;
      const local = Number.parseInt(f[1].split(':').pop() ?? '', 16);
      if (local === port && f[3] === '01') n++;
    }
  }
  return n;
}
