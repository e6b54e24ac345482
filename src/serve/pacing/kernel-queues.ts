/**
 * How many bytes the kernel still holds for a TCP connection, read from /proc/net/tcp{,6} (Linux,
 * also inside Docker: the files are per network namespace). Node has no way to ask a socket itself
 * (no SIOCOUTQ, no TCP_INFO, no SO_SNDBUF setter), and a write's callback only says the kernel took
 * the bytes — with the send buffer grown to megabytes, that is long before the viewer gets them.
 *
 * Requests are coalesced: every socket asking within `minIntervalMs` is answered by one read of the
 * files, whatever the number of viewers. Elsewhere (macOS, Windows) it answers null.
 */
import { readFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { endianness } from 'node:os';
import { canonicalIp, connectionKey, parseProcNetTcp } from './proc-net-tcp';

export const KERNEL_QUEUE_FILES = ['/proc/net/tcp', '/proc/net/tcp6'];
export const MIN_READ_INTERVAL_MS = 20;

interface Waiter {
  key: string;
  resolve: (bytes: number | null) => void;
}

export class KernelQueues {
  /** False once the files turned out to be unreadable. */
  available = true;
  reads = 0;
  private waiters: Waiter[] = [];
  private timer: NodeJS.Timeout | null = null;
  private reading = false;
  private lastReadAt = 0;
  private readonly keys = new WeakMap<Socket, string | null>();
  private readonly littleEndian = endianness() === 'LE';

  constructor(
    private readonly files = KERNEL_QUEUE_FILES,
    private readonly minIntervalMs = MIN_READ_INTERVAL_MS,
  ) {}

  /** Bytes written to `socket` and not yet acknowledged by the peer; null when unknown. */
  queued(socket: Socket): Promise<number | null> {
    const key = this.keyOf(socket);
    if (!this.available || key === null) return Promise.resolve(null);
    return new Promise((resolve) => {
      this.waiters.push({ key, resolve });
      this.schedule();
    });
  }

  private keyOf(socket: Socket): string | null {
    let key = this.keys.get(socket);
    if (key === undefined) {
      const { localAddress, localPort, remoteAddress, remotePort } = socket;
      const local = localAddress ? canonicalIp(localAddress) : null;
      const remote = remoteAddress ? canonicalIp(remoteAddress) : null;
      key =
        local && remote && localPort && remotePort
          ? connectionKey(local, localPort, remote, remotePort)
          : null;
      // Addresses are known once connected; do not remember a miss from before.
      if (key !== null) this.keys.set(socket, key);
    }
    return key;
  }

  private schedule(): void {
    if (this.timer || this.reading) return;
    const wait = Math.max(0, this.lastReadAt + this.minIntervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.read();
    }, wait);
  }

  private async read(): Promise<void> {
    this.reading = true;
    const waiters = this.waiters;
    this.waiters = [];
    const table = new Map<string, number>();
    let readAny = false;
    for (const file of this.files) {
      try {
        parseProcNetTcp(await readFile(file, 'latin1'), this.littleEndian, table);
        readAny = true;
      } catch {
        // tcp6 is missing when IPv6 is off; both missing: not Linux.
      }
    }
    this.reads++;
    this.lastReadAt = Date.now();
    if (!readAny) this.available = false;
    this.reading = false;
    for (const w of waiters) w.resolve(readAny ? (table.get(w.key) ?? null) : null);
    if (this.waiters.length) this.schedule();
  }
}

let shared: KernelQueues | null = null;
/** One reader for the whole process (every output's viewers share its reads). */
export function sharedKernelQueues(): KernelQueues {
  shared ??= new KernelQueues();
  return shared;
}
