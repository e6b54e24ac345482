/**
 * HTTP authentication (`http.users`): Basic for the clients that send it (browsers, Home Assistant's
 * generic camera, Frigate's ffmpeg), and per-user tokens as `Authorization: Bearer <token>` or
 * `?token=` for places that cannot send headers (Home Assistant's image entity, the card, `<img>`).
 * Codes are compared as SHA-256 digests in constant time; neither passwords nor tokens are logged.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { NextFunction, Request, Response } from 'express';

export interface HttpUser {
  username: string;
  password: string;
  token?: string;
}

/** Routes anyone may fetch: the health check (Docker, uptime monitors) and the card's code (no data). */
export const PUBLIC_PATHS = new Set(['/healthz', '/bambucam-card.js']);

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

export type AuthResult = { ok: true; user: string | null } | { ok: false; offered: boolean };

export class HttpAuth {
  private readonly basic: { user: string; digest: Buffer }[];
  private readonly tokens: { user: string; digest: Buffer }[];

  constructor(users: readonly HttpUser[]) {
    this.basic = users.map((u) => ({ user: u.username, digest: digest(`${u.username}:${u.password}`) }));
    this.tokens = users.flatMap((u) => (u.token ? [{ user: u.username, digest: digest(u.token) }] : []));
  }

  get enabled(): boolean {
    return this.basic.length > 0;
  }

  /** Check a request's credentials: Basic, Bearer, or `token` in the query. */
  check(req: IncomingMessage): AuthResult {
    if (!this.enabled) return { ok: true, user: null };
    const header = req.headers.authorization ?? '';
    const [scheme, value = ''] = header.split(' ', 2);
    if (/^basic$/i.test(scheme)) {
      const pair = Buffer.from(value, 'base64').toString('utf8');
      const user = match(this.basic, digest(pair));
      return user === null ? { ok: false, offered: true } : { ok: true, user };
    }
    const token = /^bearer$/i.test(scheme) ? value : queryToken(req.url ?? '');
    if (token) {
      const user = match(this.tokens, digest(token));
      return user === null ? { ok: false, offered: true } : { ok: true, user };
    }
    return { ok: false, offered: false };
  }

  /** Express middleware: 401 with a Basic challenge unless the request is public, a CORS preflight, or authenticated. */
  middleware(onFailure?: (req: Request) => void) {
    return (req: Request, res: Response, next: NextFunction): void => {
      const result =
        !this.enabled || PUBLIC_PATHS.has(req.path) || req.method === 'OPTIONS' ? null : this.check(req);
      if (!result || result.ok) {
        next();
        return;
      }
      if (result.offered) onFailure?.(req);
      res
        .status(401)
        .set('WWW-Authenticate', 'Basic realm="bambucam", charset="UTF-8"')
        .set('Cache-Control', 'no-store')
        .json({ error: 'unauthorized', message: 'this bambucam needs a user (HTTP Basic) or a token' });
    };
  }
}

/** Compare against every entry (no early exit), so timing tells nothing about which one matched. */
function match(entries: { user: string; digest: Buffer }[], offered: Buffer): string | null {
  let found: string | null = null;
  for (const e of entries) if (timingSafeEqual(e.digest, offered) && found === null) found = e.user;
  return found;
}

/** `token` from a request URL's query, or null. */
export function queryToken(url: string): string | null {
  const q = url.indexOf('?');
  if (q < 0) return null;
  return new URLSearchParams(url.slice(q + 1)).get('token');
}
