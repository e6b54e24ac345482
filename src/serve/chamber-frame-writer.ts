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
 * Used by the native server and the simulator alike.
 */
import type { TLSSocket } from 'node:tls';
import {
  chunkFrameBody,
  encodeFrameHeader,
  FRAME_HEADER_BYTES,
  MAX_RECORD_PLAINTEXT,
} from '../protocol/chamber';

const fragmentLimited = new WeakSet<TLSSocket>();

/** Make OpenSSL cut writes on this socket into records of at most 4096 bytes. Call once 'secure' fired. */
export function limitRecordSize(socket: TLSSocket): void {
  if (fragmentLimited.has(socket)) return;
  if (socket.setMaxSendFragment(MAX_RECORD_PLAINTEXT)) fragmentLimited.add(socket);
}

/**
 * The body's writes: one write (cut into records by OpenSSL) when the fragment limit is set, with the
 * last 17 bytes split off when the remainder would be exactly 16 bytes; else one write per record.
 */
export function bodyWrites(jpeg: Buffer, fragmentLimit: boolean): Buffer[] {
  if (!fragmentLimit) return chunkFrameBody(jpeg);
  if (jpeg.length > FRAME_HEADER_BYTES && jpeg.length % MAX_RECORD_PLAINTEXT === FRAME_HEADER_BYTES) {
    const cut = jpeg.length - FRAME_HEADER_BYTES - 1;
    return [jpeg.subarray(0, cut), jpeg.subarray(cut)];
  }
  return [jpeg];
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
