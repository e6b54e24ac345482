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
