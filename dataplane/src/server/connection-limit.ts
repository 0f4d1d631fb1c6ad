// Per-client-IP connection limit on a listener: a client already holding `max` open connections
// has further ones closed at accept, before any byte is read, so one client cannot exhaust the
// listener's sockets. Counted per data-plane process.
import type { Server, Socket } from 'node:net';

export interface ConnectionLimit {
  /** Open connections per address (for tests and the admin port). */
  open(address: string): number;
  readonly refused: number;
}

export function limitConnectionsPerIP(
  server: Server,
  max: number,
  onRefused?: (address: string) => void,
): ConnectionLimit {
  const open = new Map<string, number>();
  let refused = 0;
  // Runs before the server's own connection handling (prepended), so a refused socket is never served.
  server.prependListener('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? '';
    const count = open.get(address) ?? 0;
    if (count >= max) {
      refused++;
      onRefused?.(address);
      socket.destroy();
      return;
    }
    open.set(address, count + 1);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left <= 0) open.delete(address);
      else open.set(address, left);
    });
  });
  return {
    open: (address) => open.get(address) ?? 0,
    get refused() {
      return refused;
    },
  };
}
