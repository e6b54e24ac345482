/**
 * Which addresses the WebRTC port is announced at (ICE host candidates): the configured list when
 * there is one (Docker bridges, NAT 1:1, a different outside port), else the addresses of the
 * interfaces the socket listens on. Pure apart from reading the interface list it is given.
 */
import { isIP } from 'node:net';
import type { NetworkInterfaceInfo } from 'node:os';
import type { AnnouncedAddress } from './werift-ice';

const WILDCARD_V4 = '0.0.0.0';
const WILDCARD_V6 = new Set(['::', '::0']);

/** `192.168.1.20`, `192.168.1.20:18555`, `[fd00::2]:18555` or `fd00::2` → host and port (the bound port when absent). */
export function parseCandidate(text: string, boundPort: number): AnnouncedAddress {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracketed) return { host: bracketed[1], port: bracketed[2] ? Number(bracketed[2]) : boundPort };
  const v4 = /^([\d.]+):(\d+)$/.exec(text);
  if (v4 && isIP(v4[1]) === 4) return { host: v4[1], port: Number(v4[2]) };
  return { host: text, port: boundPort };
}

/** Is `text` a valid `candidates` entry? (An IP address, optionally with :port; IPv6 with a port in brackets.) */
export function isCandidateText(text: unknown): boolean {
  if (typeof text !== 'string') return false;
  const { host, port } = parseCandidate(text, 1);
  return isIP(host) !== 0 && Number.isInteger(port) && port >= 1 && port <= 65535;
}

const usable = (a: NetworkInterfaceInfo) =>
  !a.internal && !(a.family === 'IPv6' && (a.address.startsWith('fe80:') || a.scopeid));

/**
 * The addresses to announce. `interfaces` is os.networkInterfaces(). A wildcard bind announces every
 * non-loopback address of its family (both families for `::`); none found means loopback.
 */
export function announcedAddresses(
  bindHost: string,
  boundPort: number,
  configured: string[],
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>,
): AnnouncedAddress[] {
  if (configured.length) return configured.map((c) => parseCandidate(c, boundPort));
  const v6 = WILDCARD_V6.has(bindHost);
  if (bindHost !== WILDCARD_V4 && !v6) return [{ host: bindHost, port: boundPort }];
  const all = Object.values(interfaces).flatMap((list) => list ?? []);
  const hosts = all
    .filter(usable)
    .filter((a) => a.family === 'IPv4' || v6)
    .map((a) => a.address);
  const unique = [...new Set(hosts)];
  if (unique.length === 0) unique.push(v6 ? '::1' : '127.0.0.1');
  return unique.map((host) => ({ host, port: boundPort }));
}
