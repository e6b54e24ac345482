/**
 * An AddressGuard watching a listening server: every TCP connection is admitted (or closed at once)
 * when it arrives, before TLS or a request, and its attempt ends when the socket closes. The output
 * then reports only verdicts: `attemptFor(socket).authenticated()` or `.failed()`.
 *
 * For a TLS server the sockets the output sees are TLS sockets over the TCP ones the guard admitted;
 * they share the peer's address and port, which is how they are matched.
 */
import type { Server, Socket } from 'node:net';
import type { Attempt } from './address-guard';
import { AddressGuard, type AddressGuardOptions } from './address-guard';

const peer = (s: Socket) => `${s.remoteAddress}|${s.remotePort}`;

export class SocketGuard {
  readonly guard: AddressGuard;
  private readonly attempts = new WeakMap<Socket, Attempt>();
  private readonly byPeer = new Map<string, Attempt>();

  constructor(opts: AddressGuardOptions) {
    this.guard = new AddressGuard(opts);
  }

  /** Admit every connection `server` accepts ('connection' comes before any TLS handshake). */
  watch(server: Server): void {
    server.on('connection', (raw: Socket) => this.admit(raw));
  }

  /** Admit one TCP connection; false (and the socket destroyed) when refused. */
  admit(raw: Socket): boolean {
    const admission = this.guard.admit(raw.remoteAddress, () => raw.destroy());
    if (!admission.ok) {
      raw.destroy();
      return false;
    }
    const { attempt } = admission;
    const key = peer(raw);
    this.attempts.set(raw, attempt);
    this.byPeer.set(key, attempt);
    raw.once('close', () => {
      attempt.closed();
      if (this.byPeer.get(key) === attempt) this.byPeer.delete(key);
    });
    return true;
  }

  /** The attempt of a connection (its TCP socket, or a TLS socket over it). */
  attemptFor(socket: Socket): Attempt | undefined {
    return this.attempts.get(socket) ?? this.byPeer.get(peer(socket));
  }

  stop(): void {
    this.guard.stop();
  }
}
