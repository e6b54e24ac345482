/**
 * How many bytes the kernel still holds for a TCP connection, read from /proc/net/tcp{,6} (Linux,
 * also inside Docker: the files are per network namespace). Node has no way to ask a socket itself
 * (no SIOCOUTQ, no TCP_INFO, no SO_SNDBUF setter), and a write's callback only says the kernel took
 * the bytes — with the send buffer grown to megabytes, that is long before the viewer gets them.
 *
 * A read is not cheap: the kernel walks its whole established-connection hash table to write the
 * file, whatever the number of connections — measured 5 ms of kernel CPU per file on this 24 GiB
 * machine (262 144 buckets), less on small ones. So reads are rationed:
 * - only the file of the families asked for (an IPv4 socket is in tcp, an IPv6 or IPv4-mapped one in
 *   tcp6);
 * - urgent requests (a paced viewer waiting to send) are coalesced: every socket asking within
 *   `minIntervalMs` (100 ms) is answered by one read, whatever the number of viewers;
 * - routine requests (checking on a viewer that keeps up) wait for the next census, at most one read
 *   per `censusMs` (1 s) for all of them, or ride along with an urgent read that comes sooner.
 * Elsewhere (macOS, Windows) it answers null.
 */
import { readFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { endianness } from 'node:os';
import { canonicalIp, connectionKey, parseProcNetTcp } from './proc-net-tcp';

export const KERNEL_QUEUE_FILES = { v4: '/proc/net/tcp', v6: '/proc/net/tcp6' };
export const MIN_READ_INTERVAL_MS = 100;
export const CENSUS_INTERVAL_MS = 1000;

interface Waiter {
  key: string;
  family: 'v4' | 'v6';
  resolve: (bytes: number | null) => void;
}

export class KernelQueues {
  /** False once the files turned out to be unreadable. */
  available = true;
  reads = 0;
  private urgent: Waiter[] = [];
  private routine: Waiter[] = [];
  private timer: NodeJS.Timeout | null = null;
  private timerDue = 0;
  private reading = false;
  private lastReadAt = 0;
  private readonly keys = new WeakMap<Socket, { key: string; family: 'v4' | 'v6' } | null>();
  private readonly littleEndian = endianness() === 'LE';

  constructor(
    private readonly files = KERNEL_QUEUE_FILES,
    private readonly minIntervalMs = MIN_READ_INTERVAL_MS,
    private readonly censusMs = CENSUS_INTERVAL_MS,
  ) {}

  /**
   * Bytes written to `socket` and not yet acknowledged by the peer; null when unknown. `urgent`:
   * someone waits on the answer to send (within `minIntervalMs`); otherwise at the next census.
   */
  queued(socket: Socket, urgent = true): Promise<number | null> {
    const id = this.keyOf(socket);
    if (!this.available || id === null) return Promise.resolve(null);
    return new Promise((resolve) => {
      (urgent ? this.urgent : this.routine).push({ ...id, resolve });
      this.schedule();
    });
  }

  private keyOf(socket: Socket): { key: string; family: 'v4' | 'v6' } | null {
    let id = this.keys.get(socket);
    if (id === undefined) {
      const { localAddress, localPort, remoteAddress, remotePort } = socket;
      const local = localAddress ? canonicalIp(localAddress) : null;
      const remote = remoteAddress ? canonicalIp(remoteAddress) : null;
      id =
        local && remote && localPort && remotePort
          ? {
              key: connectionKey(local, localPort, remote, remotePort),
              // An IPv4-mapped address (a server on ::) is listed with the IPv6 sockets.
              family: localAddress?.includes(':') ? 'v6' : 'v4',
            }
          : null;
      // Addresses are known once connected; do not remember a miss from before.
      if (id !== null) this.keys.set(socket, id);
    }
    return id;
  }

  /** One timer, due at the earlier of the urgent and the census read that someone waits for. */
  private schedule(): void {
    if (this.reading) return;
    const due = Math.min(
      this.urgent.length ? this.lastReadAt + this.minIntervalMs : Number.POSITIVE_INFINITY,
      this.routine.length ? this.lastReadAt + this.censusMs : Number.POSITIVE_INFINITY,
    );
    if (due === Number.POSITIVE_INFINITY || (this.timer && this.timerDue <= due)) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerDue = due;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        void this.read();
      },
      Math.max(0, due - Date.now()),
    );
  }

  private async read(): Promise<void> {
    if (this.reading) return;
    this.reading = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const waiters = [...this.urgent, ...this.routine];
    this.urgent = [];
    this.routine = [];
    const table = new Map<string, number>();
    let readAny = false;
    for (const family of ['v4', 'v6'] as const) {
      if (!waiters.some((w) => w.family === family)) continue;
      try {
        parseProcNetTcp(await readFile(this.files[family], 'latin1'), this.littleEndian, table);
        readAny = true;
      } catch {
        // tcp6 is missing when IPv6 is off; unreadable: not Linux.
      }
    }
    this.reads++;
    this.lastReadAt = Date.now();
    if (!readAny && waiters.length) this.available = false;
    this.reading = false;
    for (const w of waiters) w.resolve(readAny ? (table.get(w.key) ?? null) : null);
    this.schedule();
  }
}

let shared: KernelQueues | null = null;
/** One reader for the whole process (every output's viewers share its reads). */
export function sharedKernelQueues(): KernelQueues {
  shared ??= new KernelQueues();
  return shared;
}
