// `application/vnd.amazon.eventstream` framing, decoded incrementally: bytes arrive in any split,
// so they are buffered until a whole frame (its length is the prelude's first 4 bytes) is there,
// then the codec checks both CRCs and parses the headers.
import { EventStreamCodec, type Message } from '@smithy/eventstream-codec';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';

/** Prelude (12) + message CRC (4): no frame is shorter. */
const MIN_FRAME = 16;
/** A frame longer than this is not a frame we can trust (the format caps payloads at 16 MiB). */
const MAX_FRAME = 24 * 1024 * 1024;

export interface EventFrame {
  messageType: string;
  eventType: string | undefined;
  exceptionType: string | undefined;
  payload: Uint8Array;
}

export class EventStreamReader {
  readonly #codec = new EventStreamCodec(toUtf8, fromUtf8);
  #buffer: Buffer = Buffer.alloc(0);

  /** Frames completed by these bytes. Throws on a corrupt frame (bad CRC or length). */
  push(bytes: Buffer): EventFrame[] {
    this.#buffer = this.#buffer.length === 0 ? bytes : Buffer.concat([this.#buffer, bytes]);
    const frames: EventFrame[] = [];
    while (this.#buffer.length >= 4) {
      const length = this.#buffer.readUInt32BE(0);
      if (length < MIN_FRAME || length > MAX_FRAME)
        throw new Error(`event stream: a frame of ${length} bytes is not valid`);
      if (this.#buffer.length < length) break;
      const frame = this.#buffer.subarray(0, length);
      this.#buffer = this.#buffer.subarray(length);
      frames.push(toFrame(this.#codec.decode(frame)));
    }
    return frames;
  }

  /** Bytes left over that never made a whole frame (a cut stream). */
  get pending(): number {
    return this.#buffer.length;
  }
}

function header(message: Message, name: string): string | undefined {
  const value = message.headers[name];
  return value?.type === 'string' ? value.value : undefined;
}

function toFrame(message: Message): EventFrame {
  return {
    messageType: header(message, ':message-type') ?? 'event',
    eventType: header(message, ':event-type'),
    exceptionType: header(message, ':exception-type'),
    payload: message.body,
  };
}
