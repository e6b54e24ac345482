/**
 * The HTTP output: one server for the web page, snapshot, MJPEG, the status API, health, metrics,
 * and the routes and WebSocket upgrades other outputs add through OutputContext.http. It binds
 * first; a failure to bind is fatal (the page and the API are how users see everything else).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { isLoopback, shownHost } from '../../net/hosts';
import { listenOrExplain } from '../../net/listen';
import type { Output, OutputContext, OutputFactory, OutputState } from '../../output/output';
import { outputStates, printerStatus } from '../../output/printer-api';
import type { GuardStatusJson } from '../guard/address-guard';
import { SocketGuard } from '../guard/socket-guard';
import { HttpAuth, queryToken } from './auth';
import { createHttpApp } from './server';

export class HttpOutput implements Output {
  readonly name = 'http';
  /** Requests that offered wrong credentials. */
  authFailures = 0;
  private server: Server | null = null;
  private readonly guardian: SocketGuard;

  constructor(private readonly ctx: OutputContext) {
    this.guardian = new SocketGuard({ log: ctx.log.child('http'), limits: ctx.config.limits });
  }

  get port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? 0;
  }

  /** The Node server, or null while it does not listen. */
  get httpServer(): Server | null {
    return this.server;
  }

  async start(): Promise<void> {
    const { ctx } = this;
    const routes = ctx.http;
    const { config, tuning } = ctx;
    const app = createHttpApp({
      printers: ctx.printers,
      statusOf: (p) => printerStatus(p, ctx.outputs()),
      metrics: {
        printers: () => ctx.printers.values(),
        outputStates: (id) => outputStates(ctx.outputs(), id),
        outputs: () => ctx.outputs(),
        serverGuards: () =>
          ctx.outputs().flatMap((o) => {
            const g = o.guard?.();
            return g ? [[o.name, g] as [string, GuardStatusJson]] : [];
          }),
      },
      // Without http.users there is nothing to guess: no guard.
      guard: config.http.users.length ? this.guardian : undefined,
      routers: routes.routers,
      users: config.http.users,
      corsOrigins: config.http.corsOrigins,
      onAuthFailure: () => this.authFailures++,
      log: ctx.log.child('http'),
      mjpegResendMs: tuning.mjpegResendMs,
      snapshotWaitMs: tuning.snapshotWaitMs,
    });
    const server = createServer(app);
    if (config.http.users.length) this.guardian.watch(server);
    const auth = new HttpAuth(config.http.users);
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const path = (req.url ?? '/').split('?')[0];
      const handler = routes.upgrades.get(path);
      if (!handler) return void socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      // WebSockets (the wall) need the same credentials as every other route.
      const attempt = this.guardian.attemptFor(req.socket);
      const judge = () => {
        if (socket.destroyed) return;
        const result = auth.check(req);
        if (!result.ok) {
          if (result.offered) {
            this.authFailures++;
            attempt?.failed();
          }
          return void socket.end(
            'HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm="bambucam"\r\nConnection: close\r\n\r\n',
          );
        }
        attempt?.authenticated();
        handler(req, socket, head);
      };
      // An address that failed often waits before its credentials are checked, as on every route.
      const offered = req.headers.authorization !== undefined || queryToken(req.url ?? '') !== null;
      const delay = auth.enabled && offered && attempt?.isOpen ? attempt.verdictDelayMs() : 0;
      if (delay > 0) setTimeout(judge, delay).unref();
      else judge();
    });
    try {
      await listenOrExplain(server, config.http.port, config.http.host, {
        port: 'http.port (or BAMBUCAM_HTTP_PORT)',
        host: 'http.host',
      });
    } catch (err) {
      throw new Error(`[http] ${(err as Error).message}`);
    }
    this.server = server;
    ctx.log.child('http').info(`listening on http://${config.http.host}:${this.port}/`);
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    this.guardian.stop();
  }

  guard(): GuardStatusJson | null {
    return this.server && this.ctx.config.http.users.length ? this.guardian.guard.status() : null;
  }

  status(): OutputState | undefined {
    // One server for all printers: its state is the App's, not a printer's.
    return undefined;
  }

  openToNetwork(): string[] {
    const { host, users } = this.ctx.config.http;
    return this.server && users.length === 0 && !isLoopback(host) ? [`http on ${host}:${this.port}`] : [];
  }

  describe(): string[] {
    if (!this.server) return [];
    const base = `http://${shownHost(this.ctx.config.http.host)}:${this.port}`;
    return [
      `web page: ${base}/`,
      ...[...this.ctx.printers.values()].map(
        (p) =>
          `${p.name}: ${base}/printers/${p.id}/stream.mjpeg  (snapshot: ${base}/printers/${p.id}/snapshot.jpg)`,
      ),
      `status: ${base}/api/printers`,
    ];
  }
}

export const httpOutput: OutputFactory = (ctx) => new HttpOutput(ctx);
