/**
 * RTSP authentication (RFC 2617 as used by RTSP servers): Basic and Digest with MD5, with or
 * without `qop=auth`. LIVE555 (the printers' server) sends Digest without qop. Pure: no I/O.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export interface Challenge {
  scheme: 'basic' | 'digest';
  realm: string;
  nonce?: string;
  opaque?: string;
  qop?: string;
  algorithm?: string;
  stale?: boolean;
}

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

/** Parse `key=value, key="quoted, value"` parameter lists. */
export function parseAuthParams(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /([a-zA-Z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    out[m[1].toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3];
  }
  return out;
}

/** Parse one `WWW-Authenticate` header value. */
export function parseChallenge(header: string): Challenge | null {
  const m = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (!m) return null;
  const scheme = m[1].toLowerCase();
  if (scheme !== 'basic' && scheme !== 'digest') return null;
  const p = parseAuthParams(m[2]);
  return {
    scheme,
    realm: p.realm ?? '',
    nonce: p.nonce,
    opaque: p.opaque,
    qop: p.qop,
    algorithm: p.algorithm,
    stale: p.stale?.toLowerCase() === 'true',
  };
}

export function basicAuthorization(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

export interface DigestInput {
  username: string;
  password: string;
  method: string;
  uri: string;
  challenge: Challenge;
  /** Counter and client nonce for qop=auth (generated when absent). */
  nc?: number;
  cnonce?: string;
}

export function digestResponse(
  ha1: string,
  method: string,
  uri: string,
  nonce: string,
  qop?: { nc: string; cnonce: string },
): string {
  const ha2 = md5(`${method}:${uri}`);
  return qop ? md5(`${ha1}:${nonce}:${qop.nc}:${qop.cnonce}:auth:${ha2}`) : md5(`${ha1}:${nonce}:${ha2}`);
}

/** The `Authorization` header value answering a Digest challenge. */
export function digestAuthorization(input: DigestInput): string {
  const { username, password, method, uri, challenge } = input;
  const nonce = challenge.nonce ?? '';
  const ha1 = md5(`${username}:${challenge.realm}:${password}`);
  const useQop = challenge.qop?.split(',').some((q) => q.trim() === 'auth');
  const parts = [`username="${username}"`, `realm="${challenge.realm}"`, `nonce="${nonce}"`, `uri="${uri}"`];
  if (useQop) {
    const nc = (input.nc ?? 1).toString(16).padStart(8, '0');
    const cnonce = input.cnonce ?? randomBytes(8).toString('hex');
    parts.push(`response="${digestResponse(ha1, method, uri, nonce, { nc, cnonce })}"`);
    parts.push('qop=auth', `nc=${nc}`, `cnonce="${cnonce}"`);
  } else {
    parts.push(`response="${digestResponse(ha1, method, uri, nonce)}"`);
  }
  if (challenge.opaque !== undefined) parts.push(`opaque="${challenge.opaque}"`);
  if (challenge.algorithm) parts.push(`algorithm=${challenge.algorithm}`);
  return `Digest ${parts.join(', ')}`;
}

/** Build the `Authorization` header for a challenge. */
export function authorizationFor(
  challenge: Challenge,
  username: string,
  password: string,
  method: string,
  uri: string,
): string {
  return challenge.scheme === 'basic'
    ? basicAuthorization(username, password)
    : digestAuthorization({ username, password, method, uri, challenge });
}

export interface Credential {
  username: string;
  password: string;
}

function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}

/**
 * Server side: does this `Authorization` header prove one of the credentials? Digest answers must
 * use our realm and nonce; Basic is accepted only when `allowBasic`.
 * Returns the matching user name or null.
 */
export function verifyAuthorization(
  header: string | undefined,
  method: string,
  credentials: Credential[],
  opts: { realm: string; nonce: string; allowBasic: boolean },
): string | null {
  if (!header) return null;
  const m = /^\s*(\w+)\s+(.*)$/s.exec(header);
  if (!m) return null;
  const scheme = m[1].toLowerCase();
  if (scheme === 'basic') {
    if (!opts.allowBasic) return null;
    const decoded = Buffer.from(m[2].trim(), 'base64').toString();
    const colon = decoded.indexOf(':');
    if (colon < 0) return null;
    const user = decoded.slice(0, colon);
    const pass = decoded.slice(colon + 1);
    const hit = credentials.find((c) => c.username === user && safeEqual(c.password, pass));
    return hit ? hit.username : null;
  }
  if (scheme !== 'digest') return null;
  const p = parseAuthParams(m[2]);
  if (p.realm !== opts.realm || p.nonce !== opts.nonce || !p.uri || !p.response) return null;
  for (const c of credentials) {
    if (c.username !== p.username) continue;
    const ha1 = md5(`${c.username}:${opts.realm}:${c.password}`);
    const qop = p.qop === 'auth' && p.nc && p.cnonce ? { nc: p.nc, cnonce: p.cnonce } : undefined;
    if (safeEqual(digestResponse(ha1, method, p.uri, opts.nonce, qop), p.response.toLowerCase()))
      return c.username;
  }
  return null;
}

/** A fresh server nonce: 32 hex digits, like LIVE555's. */
export function newNonce(): string {
  return randomBytes(16).toString('hex');
}
