/**
 * The chamber-image source (A1/P1 printers, TLS :6000): one connection, run once.
 * `run()` settles only after the socket's 'close' event, so a supervisor that awaits it can never
 * open a second socket to the printer while the first is still alive.
 */
import type { Logger } from '../log';
import { ChamberFrameParser, encodeAuthPacket } from '../protocol/chamber';
import { PrinterSocket } from './printer-socket';
import type { SourceStatus } from './status';
import { AuthError } from './supervisor';
import type { PrinterTlsConfig } from './tls-options';

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

export class ChamberSource {
  constructor(private readonly opts: ChamberSourceOptions) {}

  async run(signal: AbortSignal): Promise<void> {
    const { host, port, log, status } = this.opts;
    const connectTimeoutMs = this.opts.connectTimeoutMs ?? CONNECT_TIMEOUT_MS;
    const frameTimeoutMs = this.opts.frameTimeoutMs ?? FRAME_TIMEOUT_MS;
    if (signal.aborted) return;
    const startedAt = Date.now();
    const parser = new ChamberFrameParser();
    let authSent = false;
    let bytesAfterAuth = 0;
    let frames = 0;

    status.set('connecting', `connecting to ${host}:${port}`);
    log.debug(`connecting to ${host}:${port}`);
    const conn = new PrinterSocket({
      host,
      port,
      serial: this.opts.serial,
      tls: this.opts.tls,
      status,
      signal,
      refusedHint: 'is the printer on, and is it an A1/P1 model with a chamber camera?',
    });
    const { socket, where } = conn;
    conn.arm(
      connectTimeoutMs,
      `no TLS handshake from ${where} within ${connectTimeoutMs / 1000} s (printer unreachable, or both of its camera connections are taken)`,
    );
    socket.once('secureConnect', () => {
      if (socket.destroyed) return; // a pinning mismatch
      socket.write(encodeAuthPacket(this.opts.accessCode));
      authSent = true;
      conn.arm(frameTimeoutMs, `no picture from ${where} for ${frameTimeoutMs / 1000} s`);
    });
    socket.on('data', (chunk: Buffer) => {
      bytesAfterAuth += chunk.length;
      let jpegs: Buffer[];
      try {
        jpegs = parser.push(chunk);
      } catch (err) {
        return conn.fail(new Error(`malformed data from ${where}: ${(err as Error).message}`));
      }
      for (const jpeg of jpegs) {
        if (frames++ === 0) {
          status.lastConnectedAt = Date.now();
          status.set('streaming');
          log.info(`streaming from ${where}, first frame after ${Date.now() - startedAt} ms`);
        }
        conn.arm(frameTimeoutMs, `no picture from ${where} for ${frameTimeoutMs / 1000} s`);
        this.opts.onFrame(jpeg);
      }
    });

    await conn.closed;
    if (conn.aborted) return;
    if (conn.failure) throw conn.failure;
    if (authSent && bytesAfterAuth === 0) {
      // The printer's only answer to a wrong access code is closing without a byte (PROTOCOLS.md §3).
      throw new AuthError(`wrong access code: ${where} closed the connection right after authentication`);
    }
    if (parser.pendingBytes > 0) throw new Error(`${where} closed the connection in the middle of a frame`);
  }
}
