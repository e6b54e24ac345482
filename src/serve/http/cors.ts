/**
 * Cross-origin reads (the dashboard card runs on Home Assistant's origin and fetches the API, HLS
 * and WHEP from bambucam). `http.cors_origins`: a list of allowed origins; null means any origin
 * ("*") while no users are configured and none once they are, so an authenticated gateway is not
 * readable by every web page a user happens to open.
 */
import type { NextFunction, Request, Response } from 'express';

export function corsMiddleware(origins: readonly string[] | null, authEnabled: boolean) {
  const allowed = origins ?? (authEnabled ? [] : ['*']);
  const any = allowed.includes('*');
  const wildcard = any && !authEnabled;
  return (req: Request, res: Response, next: NextFunction): void => {
    const origin = req.headers.origin;
    if (wildcard || (origin && (any || allowed.includes(origin)))) {
      if (wildcard) res.set('Access-Control-Allow-Origin', '*');
      else {
        // With users, "*" would not let browsers send credentials: name the origin.
        res.set('Access-Control-Allow-Origin', origin as string);
        res.set('Access-Control-Allow-Credentials', 'true');
        res.vary('Origin');
      }
      res.set('Access-Control-Expose-Headers', 'Content-Length, Date, Location, Link, Retry-After');
      if (req.method === 'OPTIONS' && origin) {
        res.set('Access-Control-Allow-Methods', 'GET, POST, PATCH, DELETE, OPTIONS');
        res.set('Access-Control-Allow-Headers', 'Authorization, Content-Type, If-Match');
        res.set('Access-Control-Max-Age', '600');
        res.status(204).end();
        return;
      }
    }
    next();
  };
}
