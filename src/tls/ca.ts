/**
 * bambucam's own certificate authority, for the native servers (PROTOCOLS.md §2): clients that verify
 * the printer's certificate can trust this CA instead of Bambu's. It is created once and kept in the
 * data directory, so a restart presents the same CA and users add it to a trust bundle only once.
 * Every file is written with private permissions (0600, directory 0700).
 */
import { X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { generateCertificate, type KeyAndCert } from './certs';

export const CA_COMMON_NAME = 'bambucam local CA';
const CA_DAYS = 3650;
const LEAF_DAYS = 825;
/** Reissue a leaf this long before it expires. */
const RENEW_BEFORE_MS = 30 * 24 * 3600 * 1000;

export interface LocalCa {
  dir: string;
  certPath: string;
  keyPath: string;
  ca: KeyAndCert;
  /** True when this call created the CA (first run). */
  created: boolean;
}

function writePrivate(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode: 0o600 });
  renameSync(tmp, path);
  chmodSync(path, 0o600);
}

/** The TLS subdirectory of the data directory, created with private permissions. */
export function tlsDir(dataDir: string): string {
  const dir = join(dataDir, 'tls');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

export function caPaths(dataDir: string): { certPath: string; keyPath: string } {
  const dir = join(dataDir, 'tls');
  return { certPath: join(dir, 'ca.crt'), keyPath: join(dir, 'ca.key') };
}

/** Load the CA from `<dataDir>/tls`, or create it there once. */
export function loadOrCreateCa(dataDir: string): LocalCa {
  const dir = tlsDir(dataDir);
  const { certPath, keyPath } = caPaths(dataDir);
  if (existsSync(certPath) && existsSync(keyPath)) {
    const ca = { cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8') };
    const x509 = new X509Certificate(ca.cert);
    if (!x509.ca) throw new Error(`[tls] ${certPath} is not a CA certificate; move it away to make a new CA`);
    return { dir, certPath, keyPath, ca, created: false };
  }
  const ca = generateCertificate({ commonName: CA_COMMON_NAME, isCa: true, days: CA_DAYS });
  writePrivate(keyPath, ca.key);
  writePrivate(certPath, ca.cert);
  return { dir, certPath, keyPath, ca, created: true };
}

/**
 * Names a native server's certificate carries: the serial (clients that set SNI to the serial and
 * check it), localhost, this machine's name and addresses, and any host the user configured.
 */
export function leafAltNames(serial: string | null, hosts: (string | null)[]): string[] {
  const names = new Set<string>(['localhost', '127.0.0.1', '::1']);
  if (serial) names.add(serial);
  for (const h of hosts) if (h && h !== '0.0.0.0' && h !== '::') names.add(h);
  const host = hostname();
  if (/^[a-z0-9.-]+$/i.test(host)) names.add(host);
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (!a.internal && !a.address.startsWith('fe80')) names.add(a.address);
  }
  return [...names];
}

/** IPv6 as X509Certificate prints it: eight groups, no leading zeros ('::1' → '0:0:0:0:0:0:0:1'). */
function canonicalName(name: string): string {
  if (isIP(name) !== 6) return name.toLowerCase();
  const [head, tail] = name.split('::');
  const h = head ? head.split(':') : [];
  const t = tail === undefined ? [] : tail ? tail.split(':') : [];
  const fill = tail === undefined ? [] : Array(8 - h.length - t.length).fill('0');
  return [...h, ...fill, ...t].map((g) => Number.parseInt(g, 16).toString(16)).join(':');
}

function sameNames(x509: X509Certificate, wanted: string[]): boolean {
  const have = (x509.subjectAltName ?? '')
    .split(', ')
    .map((s) => canonicalName(s.replace(/^(DNS|IP Address):/, '')))
    .sort();
  const want = wanted.map(canonicalName).sort();
  return have.length === want.length && have.every((n, i) => n === want[i]);
}

/**
 * The leaf certificate for one printer's native servers (`CN=<serial>`), kept in the data directory
 * and reissued only when the names change, the CA changed, or it nears expiry.
 * The returned `cert` holds the leaf followed by the CA, the chain a server sends.
 */
export function leafCertificate(
  ca: LocalCa,
  name: string,
  commonName: string,
  altNames: string[],
): KeyAndCert {
  const file = name.replace(/[^a-z0-9_-]/gi, '_');
  const certPath = join(ca.dir, `${file}.crt`);
  const keyPath = join(ca.dir, `${file}.key`);
  if (existsSync(certPath) && existsSync(keyPath)) {
    const cert = readFileSync(certPath, 'utf8');
    const x509 = new X509Certificate(cert);
    const fresh = Date.parse(x509.validTo) - Date.now() > RENEW_BEFORE_MS;
    if (
      fresh &&
      x509.checkIssued(new X509Certificate(ca.ca.cert)) &&
      x509.subject === `CN=${commonName}` &&
      sameNames(x509, altNames)
    ) {
      return { key: readFileSync(keyPath, 'utf8'), cert: cert + ca.ca.cert };
    }
  }
  const leaf = generateCertificate({ commonName, altNames, issuer: ca.ca, days: LEAF_DAYS });
  writePrivate(keyPath, leaf.key);
  writePrivate(certPath, leaf.cert);
  return { key: leaf.key, cert: leaf.cert + ca.ca.cert };
}
