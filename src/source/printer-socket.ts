/**
 * One TLS connection to the printer, run once: the scaffolding every source shares (the camera's
 * chamber and RTSPS sources, the MQTT link). It counts the connection in the source's status,
 * checks a pinned certificate, turns socket errors into words that say what to do, keeps one
 * timer (connect, then "no data for too long"), honours the abort signal, and settles only after
 * the socket's 'close' — so a supervisor that awaits `closed` can never open a second socket to the
 * printer while the first is alive (PROTOCOLS.md §3).
 */
import { connect, type TLSSocket } from 'node:tls';
import type { SourceStatus } from './status';
import { checkPinnedFingerprint, type PrinterTlsConfig, printerTlsOptions } from './tls-options';

export interface PrinterSocketOptions {
  host: string;
  port: number;
  serial: string | null;
  tls: PrinterTlsConfig;
  status: SourceStatus;
  signal: AbortSignal;
  /** What the printer probably is when it refuses the connection, for the error text. */
  refusedHint?: string;
  /** How to leave when aborted (default: destroy at once). */
  onAbort?: (socket: TLSSocket) => void;
  /** Map a socket error to a failure of its own (e.g. "liveview off"); undefined: the default wording. */
  classifyError?: (err: NodeJS.ErrnoException) => Error | undefined;
  /** Wrap a pinning mismatch (default: a plain Error). */
  pinError?: (message: string) => Error;
}

/** A socket error in words that say what to do. */
export function describeSocketError(err: NodeJS.ErrnoException, where: string, refusedHint?: string): string {
  switch (err.code) {
    case 'ECONNREFUSED':
      return `connection refused by ${where}${refusedHint ? ` (${refusedHint})` : ''}`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `${where} is unreachable (check the printer's IP address and network)`;
    case 'ECONNRESET':
      return `connection reset by ${where}`;
    case 'ENOTFOUND':
      return `host name of ${where} not found`;
    default:
      return `${where}: ${err.message}`;
  }
}

export class PrinterSocket {
  readonly socket: TLSSocket;
  readonly where: string;
  /** The first failure (a timeout, an error, a protocol violation); null when it ended by itself. */
  failure: Error | null = null;
  /** Resolves once the socket closed (timers cleared, status updated). */
  readonly closed: Promise<void>;
  private timer: NodeJS.Timeout | null = null;
  private readonly cleanups: (() => void)[] = [];

  constructor(private readonly opts: PrinterSocketOptions) {
    const { host, port, status, signal } = opts;
    this.where = `${host}:${port}`;
    status.connectionsOpened++;
    status.connectionsOpen++;
    this.socket = connect({ host, port, ...printerTlsOptions(opts.tls, opts.serial) });
    const onAbort = () => (opts.onAbort ? opts.onAbort(this.socket) : this.socket.destroy());
    signal.addEventListener('abort', onAbort, { once: true });
    this.socket.once('secureConnect', () => {
      const pinned = checkPinnedFingerprint(this.socket, opts.tls);
      if (pinned) this.fail(opts.pinError ? opts.pinError(pinned) : new Error(pinned));
    });
    this.socket.on('error', (err: NodeJS.ErrnoException) => {
      this.failure ??=
        opts.classifyError?.(err) ?? new Error(describeSocketError(err, this.where, opts.refusedHint));
    });
    this.closed = new Promise<void>((resolve) => {
      this.socket.once('close', () => {
        if (this.timer) clearTimeout(this.timer);
        this.timer = null;
        signal.removeEventListener('abort', onAbort);
        for (const c of this.cleanups) c();
        status.connectionsOpen--;
        resolve();
      });
    });
  }

  get aborted(): boolean {
    return this.opts.signal.aborted;
  }

  /** Fail with this error (the first one wins) and close. */
  fail(err: Error): void {
    this.failure ??= err;
    this.socket.destroy();
  }

  /** (Re)arm the one timer: fail with `message` unless re-armed within `ms`. */
  arm(ms: number, message: string): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.fail(new Error(message)), ms);
  }

  /** Run when the socket closes (clear the run's own timers). */
  onClose(cleanup: () => void): void {
    this.cleanups.push(cleanup);
  }
}
