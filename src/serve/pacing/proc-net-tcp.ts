/**
 * Linux's /proc/net/tcp and /proc/net/tcp6, pure: which bytes the kernel still holds for each TCP
 * connection. `tx_queue` is write_seq − snd_una: bytes written by the process that the peer has not
 * acknowledged yet, whether still in the send buffer or on the way (in a router's queue, say). Bytes
 * the peer's kernel has acknowledged but its application has not read yet are not in it.
 */
import { isIPv4 } from 'node:net';
import { ipv6Groups } from '../guard/address-key';

const ESTABLISHED = '01';

/** An address as written in these files: IPv4 dotted, IPv4-mapped IPv6 as IPv4, else 8 hex groups. */
export function canonicalIp(address: string): string | null {
  if (isIPv4(address)) return address;
  const g = ipv6Groups(address);
  if (!g) return null;
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff)
    return `${g[6] >> 8}.${g[6] & 0xff}.${g[7] >> 8}.${g[7] & 0xff}`;
  return g.map((x) => x.toString(16)).join(':');
}

/** The key of one connection, from its two ends. */
export function connectionKey(
  localIp: string,
  localPort: number,
  remoteIp: string,
  remotePort: number,
): string {
  return `${localIp}:${localPort}>${remoteIp}:${remotePort}`;
}

/** Bytes of a 32-bit word printed by the kernel in host order, back in memory (network) order. */
function wordBytes(hex: string, littleEndian: boolean): number[] {
  const v = Number.parseInt(hex, 16);
  const bytes = [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
  return littleEndian ? bytes.reverse() : bytes;
}

const HEX = /^[0-9A-Fa-f]+$/;

/** `0100007F:1F90` → ['127.0.0.1', 8080], or null when the field is not an address. */
function decodeEndpoint(field: string, littleEndian: boolean): [string, number] | null {
  const colon = field.indexOf(':');
  if (colon < 0) return null;
  const hex = field.slice(0, colon);
  const portHex = field.slice(colon + 1);
  if (!HEX.test(hex) || !HEX.test(portHex) || portHex.length > 4) return null;
  let bytes: number[];
  if (hex.length === 8) bytes = wordBytes(hex, littleEndian);
  else if (hex.length === 32)
    bytes = [0, 8, 16, 24].flatMap((i) => wordBytes(hex.slice(i, i + 8), littleEndian));
  else return null;
  let ip: string;
  if (bytes.length === 4) ip = bytes.join('.');
  else {
    const groups = [];
    for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
    ip = canonicalIp(groups.join(':')) ?? '';
  }
  return ip ? [ip, Number.parseInt(portHex, 16)] : null;
}

/**
 * tx_queue of every established connection in the text of /proc/net/tcp or /proc/net/tcp6, by
 * connectionKey. Lines that do not parse are skipped.
 */
export function parseProcNetTcp(
  text: string,
  littleEndian: boolean,
  into = new Map<string, number>(),
): Map<string, number> {
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 5 || f[3] !== ESTABLISHED) continue;
    const local = decodeEndpoint(f[1], littleEndian);
    const remote = decodeEndpoint(f[2], littleEndian);
    const queues = f[4].split(':');
    if (!local || !remote || queues.length !== 2 || !HEX.test(queues[0]) || queues[0].length > 8) continue;
    into.set(connectionKey(local[0], local[1], remote[0], remote[1]), Number.parseInt(queues[0], 16));
  }
  return into;
}
