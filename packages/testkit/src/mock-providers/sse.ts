// Writes server-sent events the way real providers do, including the awkward-but-legal framings
// clients must cope with: CRLF line ends, comment lines, events split across TCP writes (in the
// middle of a multi-byte character, even).
import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SSEFraming } from './types.ts';

export class SSEWriter {
  readonly #res: ServerResponse;
  readonly #framing: SSEFraming;
  readonly #cutAfter: number | undefined;
  #sent = 0;

  /** `cutAfter`: destroy the connection after that many events (a provider dying mid-stream). */
  constructor(res: ServerResponse, framing: SSEFraming = {}, cutAfter?: number) {
    this.#res = res;
    this.#framing = framing;
    this.#cutAfter = cutAfter;
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    // Small writes must leave as separate packets for the split framing to mean anything.
    res.socket?.setNoDelay(true);
  }

  async send(event: string | undefined, data: string): Promise<void> {
    const le = this.#framing.lineEnd ?? '\n';
    if (this.#framing.comments) await this.#write(`: keep-alive${le}`);
    const text = `${event === undefined ? '' : `event: ${event}${le}`}data: ${data}${le}${le}`;
    await this.#write(text);
    if (this.#cutAfter !== undefined && ++this.#sent >= this.#cutAfter) {
      // Let the events leave before the connection dies.
      await sleep(20);
      this.#res.destroy();
    }
  }

  async end(): Promise<void> {
    if (!this.#res.destroyed) await new Promise<void>((resolve) => this.#res.end(resolve));
  }

  async #write(text: string): Promise<void> {
    if (this.#res.destroyed) return;
    if (!this.#framing.splitWrites) {
      this.#res.write(text);
      return;
    }
    // Three pieces cut at byte offsets, so a UTF-8 sequence may straddle two writes.
    const bytes = Buffer.from(text, 'utf8');
    const cuts = [0, Math.floor(bytes.length / 3), Math.floor((2 * bytes.length) / 3), bytes.length];
    for (let i = 0; i < 3; i++) {
      if (this.#res.destroyed) return;
      const piece = bytes.subarray(cuts[i]!, cuts[i + 1]!);
      if (piece.length > 0) this.#res.write(piece);
      await sleep(2);
    }
  }
}
