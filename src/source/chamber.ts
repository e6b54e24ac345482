/**
 * The chamber-image source (A1/P1 printers, TLS :6000): one connection, run once.
 * `run()` settles only after the socket's 'close' event, so a supervisor that awaits it can never
 * open a second socket to the printer while the first is still alive.
 */
import { connect, type TLSSocket } from 'node:tls';
import type { Logger } from '../log';
import { ChamberFrameParser, encodeAuthPacket } from '../protocol/chamber';
import type { SourceStatus } from './status';
import { AuthError } from './supervisor';
import { checkPinnedFingerprint, type PrinterTlsConfig, printerTlsOptions } from './tls-options';

export interface ChamberSourceOptions {
  host: string;
  port: number;
  accessCode: string;
  serial: string | null;
  tls: PrinterTlsConfig;
  log: Logger;
  status: SourceStatus;
  onFrame: (jpeg: Buffer) => void;
  /** TCP + TLS handshake must finish within this (a printer whose two camera slots are taken never answers). */
  connectTimeoutMs?: number;
  /** No complete frame for this long means the stream is dead. */
  frameTimeoutMs?: number;
}

export const CONNECT_TIMEOUT_MS = 10_000;
export const FRAME_TIMEOUT_MS = 30_000;

function describeSocketError(err: NodeJS.ErrnoException, where: string): string {
  switch (err.code) {
    case 'ECONNREFUSED':
      return `connection refused by ${where} (is the printer on, and is it an A1/P1 model with a chamber camera?)`;
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

export class ChamberSource {
  constructor(private readonly opts: ChamberSourceOptions) {}

  run(signal: AbortSignal): Promise<void> {
    const { host, port, log, status } = this.opts;
    const connectTimeoutMs = this.opts.connectTimeoutMs ?? CONNECT_TIMEOUT_MS;
    const frameTimeoutMs = this.opts.frameTimeoutMs ?? FRAME_TIMEOUT_MS;
    const where = `${host}:${port}`;
    if (signal.aborted) return Promise.resolve();

    return new Promise<void>((resolve, reject) => {
      const startedAt = Date.now();
      const parser = new ChamberFrameParser();
      let failure: Error | null = null;
      let authSent = false;
      let bytesAfterAuth = 0;
      let frames = 0;
      let timer: NodeJS.Timeout | null = null;

      status.set('connecting', `connecting to ${where}`);
      status.connectionsOpened++;
      status.connectionsOpen++;
      log.debug(`connecting to ${where}`);

      const socket: TLSSocket = connect({
        host,
        port,
        ...printerTlsOptions(this.opts.tls, this.opts.serial),
      });

      const fail = (err: Error) => {
        failure ??= err;
        socket.destroy();
      };
      const arm = (ms: number, message: string) => {
        if (timer) clearTimeout(timer);
        timer = setTimeout(() => fail(new Error(message)), ms);
      };
      const onAbort = () => socket.destroy();

      arm(
        connectTimeoutMs,
        `no TLS handshake from ${where} within ${connectTimeoutMs / 1000} s (printer unreachable, or both of its camera connections are taken)`,
      );
      signal.addEventListener('abort', onAbort, { once: true });

      socket.once('secureConnect', () => {
        const pinError = checkPinnedFingerprint(socket, this.opts.tls);
        if (pinError) return fail(new Error(pinError));
        socket.write(encodeAuthPacket(this.opts.accessCode));
        authSent = true;
        arm(frameTimeoutMs, `no picture from ${where} for ${frameTimeoutMs / 1000} s`);
      });

      socket.on('data', (chunk: Buffer) => {
        bytesAfterAuth += chunk.length;
        let jpegs: Buffer[];
        try {
          jpegs = parser.push(chunk);
        } catch (err) {
          return fail(new Error(`malformed data from ${where}: ${(err as Error).message}`));
        }
        for (const jpeg of jpegs) {
          if (frames++ === 0) {
            status.lastConnectedAt = Date.now();
            status.set('streaming');
            log.info(`streaming from ${where}, first frame after ${Date.now() - startedAt} ms`);
          }
          arm(frameTimeoutMs, `no picture from ${where} for ${frameTimeoutMs / 1000} s`);
          this.opts.onFrame(jpeg);
        }
      });

      socket.on('error', (err: NodeJS.ErrnoException) => {
        failure ??= new Error(describeSocketError(err, where));
      });

      socket.once('close', () => {
        if (timer) clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        status.connectionsOpen--;
        if (signal.aborted) return resolve();
        if (failure) return reject(failure);
        if (authSent && bytesAfterAuth === 0) {
          // The printer's only answer to a wrong access code is closing without a byte (PROTOCOLS.md §3).
          return reject(
            new AuthError(`wrong access code: ${where} closed the connection right after authentication`),
          );
        }
        if (parser.pendingBytes > 0)
          return reject(new Error(`${where} closed the connection in the middle of a frame`));
        resolve();
      });
    });
  }
}
