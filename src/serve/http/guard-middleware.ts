/**
 * The HTTP server's per-address guard (issue 13) around `http.users` authentication: connections are
 * admitted per address when they arrive (SocketGuard.watch); a request that offers credentials on a
 * connection that has not authenticated yet waits first if its address failed often; a connection
 * leaves the guard's count once a request on it passes; wrong credentials are counted, and a
 * connection that may not try again is closed after its 401.
 */
import type { NextFunction, Request, Response } from 'express';
import type { SocketGuard } from '../guard/socket-guard';
import { type HttpAuth, PUBLIC_PATHS, queryToken } from './auth';

const offersCredentials = (req: Request) =>
  req.headers.authorization !== undefined || queryToken(req.url) !== null;

/** Before authentication: delay a penalised address's credentials, right or wrong alike. */
export function guardBeforeAuth(guard: SocketGuard) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    const attempt = guard.attemptFor(req.socket);
    const delay = attempt?.isOpen && offersCredentials(req) ? attempt.verdictDelayMs() : 0;
    if (delay > 0) setTimeout(next, delay).unref();
    else next();
  };
}

/** After authentication passed: the connection is a viewer's (public paths and preflights excepted). */
export function guardAfterAuth(guard: SocketGuard, auth: HttpAuth) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    const open = auth.enabled && (PUBLIC_PATHS.has(req.path) || req.method === 'OPTIONS');
    if (!open) guard.attemptFor(req.socket)?.authenticated();
    next();
  };
}

/** Wrong credentials: counted; the connection closes after the 401 when it may not try again. */
export function guardFailure(guard: SocketGuard, req: Request): void {
  const attempt = guard.attemptFor(req.socket);
  if (attempt && !attempt.failed().mayRetry) req.res?.setHeader('Connection', 'close');
}
