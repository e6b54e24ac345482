/**
 * How many bytes the kernel still holds for TCP connections, read from /proc/net/tcp{,6} (Linux,
 * also inside Docker: the files are per network namespace). Node has no way to ask a socket itself
 * (no SIOCOUTQ, no TCP_INFO, no SO_SNDBUF setter), and a write's callback only says the kernel took
 * the bytes — with the send buffer grown to megabytes, that is long before the viewer gets them.
 *
 * Reading the files is not cheap: the kernel walks its whole TCP hash table, whatever the number of
 * sockets (15 ms per file on a 24 GB machine with 262144 buckets, a few ms on a small one). So the
 * files are read as a census: one read serves every watched socket, at the shortest interval any
 * watch asks for (never more often than MIN_READ_INTERVAL_MS), only the files that hold watched
 * sockets (tcp6 only for IPv6 and dual-stack sockets), and only while something is watched.
 * Elsewhere (macOS, Windows) every sample is null.
 */
import { readFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { endianness } from 'node:os';
import { canonicalIp, connectionKey, parseProcNetTcp } from './proc-net-tcp';

export const TCP4_FILE = '/proc/net/tcp';
export const TCP6_FILE = '/proc/net/tcp6';
export const MIN_READ_INTERVAL_MS = 250;

export type SampleListener = (queued: number | null, at: number) => void;

/** One watched socket: samples arrive at about `everyMs` until closed. */
export class KernelWatch {
  closed = false;

  constructor(
    private readonly owner: KernelQueues,
    readonly key: string | null,
    readonly v6: boolean,
    public everyMs: number,
    readonly onSample: SampleListener,
  ) {}

  /** Ask for samples at a new interval (takes effect at the next read at the latest). */
  setInterval(ms: number): void {
    if (ms === this.everyMs) return;
    this.everyMs = ms;
    this.owner.reschedule();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.owner.unwatch(this);
  }
}

export class KernelQueues {
  /** False once the files turned out to be unreadable. */
  available = true;
  reads = 0;
  private readonly watches = new Set<KernelWatch>();
  private timer: NodeJS.Timeout | null = null;
  private timerAt = 0;
  private reading = false;
  private lastReadAt = 0;
  private readonly littleEndian = endianness() === 'LE';

  constructor(
    private readonly files = { tcp4: TCP4_FILE, tcp6: TCP6_FILE },
    private readonly minIntervalMs = MIN_READ_INTERVAL_MS,
  ) {}

  /**
   * Watch `socket` (connected): `onSample` gets the bytes the peer has not acknowledged yet (null when
   * unknown) about every `everyMs`, the first one at the next read.
   */
  watch(socket: Socket, everyMs: number, onSample: SampleListener): KernelWatch {
    const { localAddress, localPort, remoteAddress, remotePort } = socket;
    const local = localAddress ? canonicalIp(localAddress) : null;
    const remote = remoteAddress ? canonicalIp(remoteAddress) : null;
    const key =
      local && remote && localPort && remotePort ? connectionKey(local, localPort, remote, remotePort) : null;
    const w = new KernelWatch(this, key, socket.remoteFamily === 'IPv6', everyMs, onSample);
    if (this.available && key !== null) {
      this.watches.add(w);
      this.reschedule();
    }
    return w;
  }

  /** @internal */
  unwatch(w: KernelWatch): void {
    this.watches.delete(w);
    if (this.watches.size === 0 && this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }

  /** @internal the next read at the shortest interval asked for. */
  reschedule(): void {
    if (this.reading || this.watches.size === 0) return;
    let every = Number.POSITIVE_INFINITY;
    for (const w of this.watches) every = Math.min(every, w.everyMs);
    const at = Math.max(this.lastReadAt + Math.max(every, this.minIntervalMs), Date.now());
    if (this.timer && this.timerAt <= at) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.read();
    }, at - Date.now());
    this.timer.unref();
  }

  private async read(): Promise<void> {
    this.reading = true;
    const watches = [...this.watches];
    const table = new Map<string, number>();
    let readAny = false;
    const wanted = [
      ...(watches.some((w) => !w.v6) ? [this.files.tcp4] : []),
      ...(watches.some((w) => w.v6) ? [this.files.tcp6] : []),
    ];
    for (const file of wanted) {
      try {
        parseProcNetTcp(await readFile(file, 'latin1'), this.littleEndian, table);
        readAny = true;
      } catch {
        // tcp6 is missing when IPv6 is off; both missing: not Linux.
      }
    }
    this.reads++;
    this.lastReadAt = Date.now();
    this.reading = false;
    if (!readAny) {
      this.available = false;
      this.watches.clear();
    }
    for (const w of watches) {
      if (!w.closed && w.key !== null)
        w.onSample(readAny ? (table.get(w.key) ?? null) : null, this.lastReadAt);
    }
    this.reschedule();
  }
}

let shared: KernelQueues | null = null;
/** One reader for the whole process (every output's viewers share its reads). */
export function sharedKernelQueues(): KernelQueues {
  shared ??= new KernelQueues();
  return shared;
}
