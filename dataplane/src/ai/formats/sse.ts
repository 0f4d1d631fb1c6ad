// Server-sent events, both ways. Reading goes through eventsource-parser, which handles every legal
// framing (CR, LF or CRLF line ends, comments, multi-line data, events split across TCP writes);
// a streaming TextDecoder keeps multi-byte characters split across writes intact.
import { createParser, type EventSourceParser } from 'eventsource-parser';

export interface SSEEvent {
  /** The `event:` field; undefined when the event has none. */
  event: string | undefined;
  data: string;
}

/** A provider stream larger than this between two event ends is broken (or hostile). */
const MAX_EVENT_CHARS = 16 * 1024 * 1024;

export class SSEReader {
  readonly #decoder = new TextDecoder();
  readonly #parser: EventSourceParser;
  #events: SSEEvent[] = [];
  #error: Error | undefined;

  constructor() {
    this.#parser = createParser({
      onEvent: (message) => this.#events.push({ event: message.event, data: message.data }),
      onError: (error) => {
        this.#error ??= error;
      },
      maxBufferSize: MAX_EVENT_CHARS,
    });
  }

  /** A framing error the parser met (an event over the size limit). */
  get error(): Error | undefined {
    return this.#error;
  }

  push(bytes: Buffer): SSEEvent[] {
    this.#parser.feed(this.#decoder.decode(bytes, { stream: true }));
    return this.#take();
  }

  /** The stream ended: an event without its final blank line still counts. */
  end(): SSEEvent[] {
    const rest = this.#decoder.decode();
    // Blank lines end a pending event; after a complete one they dispatch nothing.
    this.#parser.feed(`${rest}\n\n`);
    return this.#take();
  }

  #take(): SSEEvent[] {
    if (this.#events.length === 0) return NO_EVENTS;
    const events = this.#events;
    this.#events = [];
    return events;
  }
}

const NO_EVENTS: SSEEvent[] = [];

/** One event on the wire. Data with line breaks becomes several data lines, as SSE requires. */
export function frameEvent(event: string | undefined, data: string): string {
  const head = event === undefined ? '' : `event: ${event}\n`;
  if (!data.includes('\n') && !data.includes('\r')) return `${head}data: ${data}\n\n`;
  return `${head}${data
    .split(/\r\n|\r|\n/)
    .map((line) => `data: ${line}\n`)
    .join('')}\n`;
}
