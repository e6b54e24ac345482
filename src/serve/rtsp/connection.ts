/**
 * One client connection to the RTSP server: its parser, Digest nonce, at most one session, the
 * demand it holds on a stream (from DESCRIBE until it leaves).
 */
import type { Socket } from 'node:net';
import type { Logger } from '../../log';
import { newNonce } from '../../protocol/rtsp/auth';
import { RtspStreamParser } from '../../protocol/rtsp/message';
import type { Attempt } from '../guard/address-guard';
import type { RtspMount } from './mount';
import type { Viewer } from './viewer';

export interface Session {
  id: string;
  mount: RtspMount;
  path: string;
  channel: number;
  viewer: Viewer | null;
}

export class Connection {
  readonly parser = new RtspStreamParser();
  readonly nonce = newNonce();
  session: Session | null = null;
  releaseDemand: (() => void) | null = null;
  queue: Promise<void> = Promise.resolve();
  /** This connection in the server's per-address guard, when it has one. */
  attempt: Attempt | undefined;
  private closed = false;

  constructor(
    readonly socket: Socket,
    readonly log: Logger,
    /** Called when the session ended: the viewer is gone (the server disposes of unused packetizers). */
    private readonly onViewerGone: () => void,
  ) {}

  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.log.debug(`closing connection from ${this.socket.remoteAddress}: ${reason}`);
    this.cleanup();
    this.socket.destroy();
  }

  /** End the session (TEARDOWN, close): stop the viewer and release the demand. */
  cleanup(): void {
    this.stopViewer();
    this.session = null;
    this.releaseDemand?.();
    this.releaseDemand = null;
  }

  stopViewer(): void {
    if (!this.session?.viewer) return;
    this.session.viewer.stop();
    this.session.viewer = null;
    this.onViewerGone();
  }
}
