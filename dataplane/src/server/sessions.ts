// HTTP/2 sessions of a listener: tracked for draining, and closed once idle. A session waiting on
// a slow upstream is not idle (a completion can take minutes before its first byte): the session
// timer fires once, so it is re-armed while streams are open and closes the session only when
// none is.
import type { Http2SecureServer, Http2Server, Http2Session } from 'node:http2';

export class Http2Sessions {
  readonly #sessions = new Set<Http2Session>();

  constructor(server: Http2Server | Http2SecureServer, keepAliveMs: number) {
    server.on('session', (session: Http2Session) => {
      this.#sessions.add(session);
      session.once('close', () => this.#sessions.delete(session));
      let streams = 0;
      session.on('stream', (stream) => {
        streams++;
        stream.once('close', () => {
          if (--streams === 0 && !session.closed && !session.destroyed) session.setTimeout(keepAliveMs);
        });
      });
      session.on('timeout', () => {
        if (streams === 0) session.close();
        else session.setTimeout(keepAliveMs);
      });
      session.setTimeout(keepAliveMs);
    });
  }

  /** Drain: GOAWAY to every session; open streams finish. */
  close(): void {
    for (const session of this.#sessions) session.close();
  }

  /** The drain deadline passed: cut what is left. */
  destroy(): void {
    for (const session of this.#sessions) session.destroy();
  }
}
