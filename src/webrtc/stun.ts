/**
 * Just enough STUN (RFC 8489) to route datagrams on the shared WebRTC port: is this datagram STUN,
 * and which ICE session does a binding request name in its USERNAME (`<our ufrag>:<their ufrag>`,
 * RFC 8445 §7.2.2). Everything else about STUN is werift's. Pure: no I/O.
 */

const MAGIC_COOKIE = 0x2112a442;
const HEADER_BYTES = 20;
const BINDING_REQUEST = 0x0001;
const ATTR_USERNAME = 0x0006;

/** RFC 7983 demultiplexing: STUN starts with 0..3 and carries the magic cookie. */
export function isStun(buf: Buffer): boolean {
  return buf.length >= HEADER_BYTES && buf[0] < 4 && buf.readUInt32BE(4) === MAGIC_COOKIE;
}

/** The local ufrag named by a STUN binding request, or null (not a binding request, no USERNAME, malformed). */
export function bindingRequestUfrag(buf: Buffer): string | null {
  if (!isStun(buf) || buf.readUInt16BE(0) !== BINDING_REQUEST) return null;
  const end = Math.min(buf.length, HEADER_BYTES + buf.readUInt16BE(2));
  for (let pos = HEADER_BYTES; pos + 4 <= end; ) {
    const type = buf.readUInt16BE(pos);
    const length = buf.readUInt16BE(pos + 2);
    const value = pos + 4;
    if (value + length > end) return null;
    if (type === ATTR_USERNAME) {
      const username = buf.toString('utf8', value, value + length);
      const colon = username.indexOf(':');
      return colon > 0 ? username.slice(0, colon) : null;
    }
    pos = value + length + ((4 - (length % 4)) % 4); // attributes are padded to 4 bytes
  }
  return null;
}
