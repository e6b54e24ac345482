/**
 * Writing chamber-image frames with the printer's TLS record boundaries (PROTOCOLS.md §3): the
 * 16-byte header as its own record, then the JPEG in records of at most 4096 bytes of plaintext,
 * never a last record of exactly 16 bytes. Real clients (ha-bambulab, several Node clients) read
 * record by record, so this matters as much as the bytes.
 *
 * Node merges two or more writes queued while an earlier one is pending into one TLS record, so
 * at most one write may wait behind another. With the socket's maximum send fragment set to 4096,
 * OpenSSL cuts the whole body into 4096-byte records in one write (one syscall instead of ~25);
 * without it (setMaxSendFragment refused), the body goes in 4096-byte writes.
 * Used by the native server and the simulated printers alike, so it lives apart from both (in
 * `net/`, socket I/O that knows no printer or worker); which writes to make is pure and tested in
 * `protocol/chamber.ts` (`bodyWrites`).
 */
import type { TLSSocket } from 'node:tls';
import { bodyWrites, encodeFrameHeader, MAX_RECORD_PLAINTEXT } from '../protocol/chamber';

const fragmentLimited = new WeakSet<TLSSocket>();

/** Make OpenSSL cut writes on this socket into records of at most 4096 bytes. Call once 'secure' fired. */
export function limitRecordSize(socket: TLSSocket): void {
  if (fragmentLimited.has(socket)) return;
  if (socket.setMaxSendFragment(MAX_RECORD_PLAINTEXT)) fragmentLimited.add(socket);
}

/**
 * Write one frame; `done(true)` once every write has been handed to the kernel, `done(false)` when
 * the socket failed or closed first (then `done` is still called exactly once). Call it only when
 * the previous frame's `done` has fired: nothing else may be queued on the socket.
 *
 * With the fragment limit, the header and the body's first write go out back to back: a Node
 * stream hands a single buffered write to TLS on its own (it merges only two or more, with
 * writev), so the header stays its own record without waiting a turn of the event loop.
 */
export function writeChamberFrame(socket: TLSSocket, jpeg: Buffer, done: (ok: boolean) => void): void {
  const limited = fragmentLimited.has(socket);
  const writes = [encodeFrameHeader(jpeg.length), ...bodyWrites(jpeg, limited)];
  let i = 0;
  const next = (err?: Error | null): void => {
    if (err || socket.destroyed || !socket.writable) done(false);
    else if (i === writes.length) done(true);
    else socket.write(writes[i++], next);
  };
  if (limited && socket.writableLength === 0 && !socket.destroyed && socket.writable) {
    socket.write(writes[i++]);
  }
  next();
}

/** Promise form, for code that awaits each frame (the simulator). */
export function writeChamberFrameAsync(socket: TLSSocket, jpeg: Buffer): Promise<boolean> {
  return new Promise((resolve) => writeChamberFrame(socket, jpeg, resolve));
}
