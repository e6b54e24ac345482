/**
 * Routes about one printer: `/printers/<id>/<name>` and, for the first printer, `/<name>` (so
 * `curl http://gw:8090/snapshot.jpg` works). Unknown ids answer 404 with the known ones; a handler's
 * error goes to express's error handler.
 */
import type { IRouter, NextFunction, Request, Response } from 'express';
import type { PrinterMedia } from '../../output/printer-media';
import { sendError } from './reply';

export type PrinterHandler = (req: Request, res: Response, printer: PrinterMedia) => void | Promise<void>;

export function perPrinterRoute(printers: ReadonlyMap<string, PrinterMedia>) {
  const wrap =
    (handler: PrinterHandler, pick: (req: Request) => PrinterMedia | undefined) =>
    async (req: Request, res: Response, next: NextFunction) => {
      const printer = pick(req);
      if (!printer) {
        const id = req.params.id;
        return id === undefined
          ? sendError(res, 404, 'no_printer', 'no printer is configured')
          : sendError(
              res,
              404,
              'unknown_printer',
              `no printer with id "${id}"; known: ${[...printers.keys()].join(', ') || 'none'}`,
            );
      }
      try {
        await handler(req, res, printer);
      } catch (err) {
        next(err);
      }
    };
  const byId = (handler: PrinterHandler) => wrap(handler, (req) => printers.get(String(req.params.id)));
  const first = (handler: PrinterHandler) => wrap(handler, () => printers.values().next().value);
  return {
    byId,
    first,
    /** GET `/printers/:id/<name>` and `/<name>` for the first printer. */
    both(router: IRouter, name: string, handler: PrinterHandler): void {
      router.get(`/printers/:id/${name}`, byId(handler));
      router.get(`/${name}`, first(handler));
    },
  };
}
