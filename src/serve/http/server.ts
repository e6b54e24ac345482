/**
 * The HTTP app (express): web page, snapshot, MJPEG, status API, health and metrics, and the routes
 * other outputs add (HLS, WHEP, ...). Printers are seen only as PrinterMedia.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Logger } from '../../log';
import type { PrinterStatus } from '../../output/api-types';
import type { PrinterMedia } from '../../output/printer-media';
import { PACKAGE_ROOT } from '../../package-root';
import type { SocketGuard } from '../guard/socket-guard';
import { type KernelQueues, sharedKernelQueues } from '../pacing/kernel-queues';
import { HttpAuth, type HttpUser } from './auth';
import { corsMiddleware } from './cors';
import { guardAfterAuth, guardBeforeAuth, guardFailure } from './guard-middleware';
import { createMetrics, type MetricsSource } from './metrics';
import { MJPEG_RESEND_MS, mjpegHandler } from './mjpeg';
import { perPrinterRoute } from './per-printer';
import { sendError } from './reply';
import { SNAPSHOT_WAIT_MS, SnapshotResizer, snapshotHandler } from './snapshot';

export interface HttpOptions {
  printers: ReadonlyMap<string, PrinterMedia>;
  /** The API's status of one printer (the worker's part and every output's). */
  statusOf: (printer: PrinterMedia) => PrinterStatus;
  /** What /metrics reads besides the hubs: every output's state per printer. */
  metrics: Omit<MetricsSource, 'snapshotResizes' | 'snapshotResizesRefused'>;
  /** `http.users` and `http.cors_origins`. */
  users?: readonly HttpUser[];
  corsOrigins?: readonly string[] | null;
  /** A request offered wrong credentials (for counting and throttling). */
  onAuthFailure?: (req: Request) => void;
  /** Routes added by other outputs (HLS, WHEP, ...), mounted before the catch-all 404. */
  routers?: readonly Router[];
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
  /** Per-address limits of the server this app runs on (its connections admitted by the guard). */
  guard?: SocketGuard;
}

export { PACKAGE_ROOT } from '../../package-root';

export function createHttpApp(opts: HttpOptions): express.Express {
  const { printers, log } = opts;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  const auth = new HttpAuth(opts.users ?? []);
  app.use(corsMiddleware(opts.corsOrigins ?? null, auth.enabled));
  const guard = opts.guard;
  if (guard) app.use(guardBeforeAuth(guard));
  app.use(
    auth.middleware((req) => {
      opts.onAuthFailure?.(req);
      if (guard) guardFailure(guard, req);
    }),
  );
  if (guard) app.use(guardAfterAuth(guard, auth));
  const resizer = opts.resizer ?? new SnapshotResizer();
  const route = perPrinterRoute(printers);
  const snapshot = snapshotHandler(resizer, opts.snapshotWaitMs ?? SNAPSHOT_WAIT_MS);
  const kernel = opts.kernelQueues === undefined ? sharedKernelQueues() : opts.kernelQueues;
  const mjpeg = mjpegHandler(resizer, kernel, opts.mjpegResendMs ?? MJPEG_RESEND_MS);
  route.both(app, 'snapshot.jpg', snapshot);
  route.both(app, 'stream.mjpeg', mjpeg);
  for (const router of opts.routers ?? []) app.use(router);
  app.get(
    '/api/printers/:id',
    route.byId((_req, res, p) => {
      res.set('Cache-Control', 'no-store').json(opts.statusOf(p));
    }),
  );
  app.get('/api/printers', (_req, res) => {
    // Listeners shared by every printer (HTTP, RTSP) report their per-address guard here, once.
    const outputs = Object.fromEntries(
      (opts.metrics.serverGuards?.() ?? []).map(([name, guard]) => [name, { guard }]),
    );
    res
      .set('Cache-Control', 'no-store')
      .json({ printers: [...printers.values()].map(opts.statusOf), outputs });
  });
  app.get('/healthz', (_req, res) => {
    const states = [...printers.values()].map((p) => ({ id: p.id, state: p.facts().state }));
    res.set('Cache-Control', 'no-store').json({ ok: true, printers: states });
  });
  const metrics = createMetrics({
    ...opts.metrics,
    snapshotResizes: () => resizer.resizes,
    snapshotResizesRefused: () => resizer.queue.refused,
  });
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
    }),
  );

  app.all(
    '/printers/:id/{*rest}',
    route.byId((_req, res) => sendError(res, 404, 'not_found', 'no such route')),
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
