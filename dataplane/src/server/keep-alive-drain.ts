// Stops an HTTP/1.1 listener without resetting clients on their keep-alive connections.
//
// http.Server.close() also closes every idle keep-alive connection at once. A client that is
// writing its next request on one of them at that moment (under steady load, some always are)
// gets a reset: a failed request during every rollout. Instead, like a proxy's drain period: stop
// accepting, let each open connection carry its next request (answered with `connection: close`,
// so the client leaves on its own), and close only the connections still idle after a grace.
import type { Server } from 'node:http';
import { Server as NetServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** Long enough for a busy client to send its next request on each connection; idle pools get closed. */
export const KEEP_ALIVE_GRACE_MS = 1_000;

export interface GentleStop {
  /** Resolves once the listener has stopped and every connection has closed. */
  closed: Promise<void>;
  /** Resolves when the grace is over (or no connection is left); idle connections are closed by then. */
  graceOver: Promise<void>;
}

export function stopAcceptingGently(server: Server, graceMs: number): GentleStop {
  const closed = new Promise<void>((resolve) => {
    if (!server.listening) return resolve();
    // net.Server's close: stop listening, leave the open connections alone (not http's close).
    NetServer.prototype.close.call(server, () => resolve());
  });
  const timer = new AbortController();
  const graceOver = Promise.race([
    closed,
    sleep(graceMs, undefined, { signal: timer.signal }).catch(() => undefined),
  ]).then(() => {
    timer.abort();
    server.closeIdleConnections();
  });
  return { closed, graceOver };
}
