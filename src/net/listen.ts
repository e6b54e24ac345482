import type { Server } from 'node:net';

/** Why a server could not listen, in words that say what to do, naming the config keys to change. */
export function describeListenError(
  err: NodeJS.ErrnoException,
  port: number,
  keys: { port: string; host: string },
): string {
  switch (err.code) {
    case 'EADDRINUSE':
      return `port ${port} is in use by another program; choose another ${keys.port} or free it`;
    case 'EACCES':
      return `ports below 1024 need privileges (run with CAP_NET_BIND_SERVICE, or choose a ${keys.port} of 1024 or more)`;
    case 'EADDRNOTAVAIL':
      return `this machine has no such address; check ${keys.host}`;
    default:
      return err.message;
  }
}

/** A server that could not listen, with the words that say what to do. */
export class ListenError extends Error {
  override name = 'ListenError';
  constructor(
    readonly where: string,
    readonly hint: string,
    readonly code: string | undefined,
  ) {
    super(`cannot listen on ${where}: ${hint}`);
  }
}

/** Listen on `host:port`; rejects with the socket error (EADDRINUSE, EACCES, ...) and keeps no listener behind. */
export function listenOn(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Listen, or reject with a ListenError naming the config keys to change. */
export async function listenOrExplain(
  server: Server,
  port: number,
  host: string,
  keys: { port: string; host: string },
): Promise<void> {
  try {
    await listenOn(server, port, host);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new ListenError(`${host}:${port}`, describeListenError(e, port, keys), e.code);
  }
}

/**
 * Start a server whose start() listens; a failure to bind disables only that output, with a line
 * that says why and what to do. Returns null when listening, else the reason (for the API).
 */
export async function startOrDisable(
  server: { start(): Promise<void> },
  log: { error(line: string): void },
  host: string,
  port: number,
  keys: { port: string; host: string },
): Promise<string | null> {
  try {
    await server.start();
    return null;
  } catch (err) {
    const reason =
      err instanceof ListenError
        ? err.message
        : `cannot listen on ${host}:${port}: ${describeListenError(err as NodeJS.ErrnoException, port, keys)}`;
    log.error(`${reason} — this output is disabled, everything else runs`);
    return reason;
  }
}
