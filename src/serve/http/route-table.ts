/** The routes and upgrade handlers outputs register (OutputContext.http), mounted by the HTTP output. */
import type { Router } from 'express';
import type { HttpRoutes, UpgradeHandler } from '../../output/output';

export class HttpRouteTable implements HttpRoutes {
  readonly routers: Router[] = [];
  readonly upgrades = new Map<string, UpgradeHandler>();

  use(router: Router): void {
    this.routers.push(router);
  }

  upgrade(path: string, handler: UpgradeHandler): void {
    if (this.upgrades.has(path)) throw new Error(`two outputs want the upgrade path ${path}`);
    this.upgrades.set(path, handler);
  }
}
