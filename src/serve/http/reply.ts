/** JSON error answers and query parameter parsing shared by the HTTP routes. */
import type { Response } from 'express';

export function sendError(res: Response, status: number, error: string, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.status(status).set('Cache-Control', 'no-store').json({ error, message });
}

export class BadParam extends Error {}

/**
 * Read an optional numeric query parameter within [min, max]; undefined when absent.
 * Throws BadParam with a message naming the parameter and its bounds.
 */
export function numberParam(
  query: Record<string, unknown>,
  name: string,
  min: number,
  max: number,
  integer = true,
): number | undefined {
  const raw = query[name];
  if (raw === undefined || raw === '') return undefined;
  // Plain decimals only: Number() would also take "0x100", "1e3", " 100" and "+5".
  const form = integer ? /^[0-9]{1,7}$/ : /^[0-9]{1,7}(\.[0-9]{1,7})?$/;
  const n = typeof raw === 'string' && form.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isFinite(n) || n < min || n > max) {
    throw new BadParam(`${name} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}`);
  }
  return n;
}
