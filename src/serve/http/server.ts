/**
 * The HTTP server (express): web page, snapshot, MJPEG, status API, health and metrics.
 */
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from '../../log';
import type { PrinterWorker } from '../../worker';
import { type KernelQueues, sharedKernelQueues } from '../pacing/kernel-queues';
import { allowCors, hlsPlaylist, hlsSegment } from './hls';
import { createMetrics } from './metrics';
import { MJPEG_RESEND_MS, mjpegHandler } from './mjpeg';
import { sendError } from './reply';
import { SNAPSHOT_WAIT_MS, SnapshotResizer, snapshotHandler } from './snapshot';

export interface HttpOptions {
  workers: Map<string, PrinterWorker>;
  log: Logger;
  mjpegResendMs?: number;
  snapshotWaitMs?: number;
  /** Directory of the web page; default: the package's web/. */
  webDir?: string;
  /** Directory of the built bundles (page.js, bambucam-card.js); default: dist/web/. */
  bundleDir?: string;
  /** Resizes snapshots (and MJPEG pictures for slow viewers); default: a new one. */
  resizer?: SnapshotResizer;
  /** Where the pacing of slow MJPEG viewers reads the kernel's queues; null: no pacing. Default: shared. */
  kernelQueues?: KernelQueues | null;
}

type PrinterRoute = (req: Request, res: Response, worker: PrinterWorker) => void | Promise<void>;

/** The package root (the nearest package.json up): from src/ (tests), dist/ (built) or build/ (bench). */
function findPackageRoot(from: string): string {
  let dir = from;
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}
export const PACKAGE_ROOT = findPackageRoot(__dirname);

export function createHttpApp(opts: HttpOptions): express.Express {
  const { workers, log } = opts;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  const resizer = opts.resizer ?? new SnapshotResizer();
  const snapshot = snapshotHandler(resizer, opts.snapshotWaitMs ?? SNAPSHOT_WAIT_MS);
  const kernel = opts.kernelQueues === undefined ? sharedKernelQueues() : opts.kernelQueues;
  const mjpeg = mjpegHandler(resizer, kernel, opts.mjpegResendMs ?? MJPEG_RESEND_MS);
  const first = () => workers.values().next().value as PrinterWorker | undefined;

  const perPrinter =
    (route: PrinterRoute, pick: (req: Request) => PrinterWorker | undefined) =>
    async (req: Request, res: Response, next: NextFunction) => {
      const worker = pick(req);
      if (!worker) {
        const id = req.params.id;
        return id === undefined
          ? sendError(res, 404, 'no_printer', 'no printer is configured')
          : sendError(
              res,
              404,
              'unknown_printer',
              `no printer with id "${id}"; known: ${[...workers.keys()].join(', ') || 'none'}`,
            );
      }
      try {
        await route(req, res, worker);
      } catch (err) {
        next(err);
      }
    };
  const byId = (req: Request) => workers.get(String(req.params.id));

  const routes: [string, PrinterRoute][] = [
    ['snapshot.jpg', snapshot],
    ['stream.mjpeg', mjpeg],
    ['hls/index.m3u8', hlsPlaylist],
    ['hls/:name', hlsSegment],
  ];
  for (const [name, route] of routes) {
    app.get(`/printers/:id/${name}`, perPrinter(route, byId));
    app.get(`/${name}`, perPrinter(route, first));
  }
  app.get(
    '/api/printers/:id',
    perPrinter((_req, res, w) => {
      allowCors(res); // the dashboard card reads the status from Home Assistant's origin
      res.set('Cache-Control', 'no-store').json(w.toJSON());
    }, byId),
  );
  app.get('/api/printers', (_req, res) => {
    allowCors(res);
    res.set('Cache-Control', 'no-store').json({ printers: [...workers.values()].map((w) => w.toJSON()) });
  });
  app.get('/healthz', (_req, res) => {
    const states = [...workers.values()].map((w) => ({ id: w.id, state: w.status.state }));
    res.set('Cache-Control', 'no-store').json({ ok: true, printers: states });
  });
  const metrics = createMetrics(() => [...workers.values()], resizer);
  app.get('/metrics', async (_req, res, next) => {
    try {
      res.set('Content-Type', metrics.contentType).send(await metrics.metrics());
    } catch (err) {
      next(err);
    }
  });

  const webDir = opts.webDir ?? resolve(PACKAGE_ROOT, 'web');
  if (existsSync(webDir)) app.use(express.static(webDir, { index: 'index.html', maxAge: 0 }));
  // The dashboard card, so Home Assistant can load it from bambucam as well as through HACS.
  const cardFile = resolve(PACKAGE_ROOT, 'dist', 'bambucam-card.js');
  app.get('/bambucam-card.js', (_req, res) => {
    res.set('Access-Control-Allow-Origin', '*').set('Cache-Control', 'no-cache');
    res.sendFile(cardFile, (err) => {
      if (err) sendError(res, 404, 'not_built', 'the card is not built: run `npm run build`');
    });
  });
  // The bundles (page, hls.js, the dashboard card) built by `npm run build` from web/src.
  const bundleDir = opts.bundleDir ?? resolve(PACKAGE_ROOT, 'dist', 'web');
  app.use(
    express.static(bundleDir, {
      index: false,
      maxAge: 0,
      setHeaders: (res) => res.setHeader('Access-Control-Allow-Origin', '*'),
    }),
  );

  app.all(
    '/printers/:id/{*rest}',
    perPrinter((_req, res) => sendError(res, 404, 'not_found', 'no such route'), byId),
  );
  app.use((_req: Request, res: Response) => sendError(res, 404, 'not_found', 'no such route'));
  app.use((err: Error & { status?: number }, _req: Request, res: Response, _next: NextFunction) => {
    // A malformed escape in the path (/printers/%ZZ/...) is the client's mistake, not ours.
    if (err instanceof URIError || err.status === 400)
      return sendError(res, 400, 'bad_request', 'malformed percent-escape in the URL');
    log.error(`request failed: ${err.message}`);
    sendError(res, 500, 'internal', 'internal error; see the gateway log');
  });
  return app;
}

export function listen(app: express.Express, port: number, host: string): Promise<Server> {
  return new Promise((resolvePromise, reject) => {
    const server = createServer(app);
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolvePromise(server);
    });
  });
}
