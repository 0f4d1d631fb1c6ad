// The mutable side of StreamState, shared by every stream decoder: what metering and fallback read.
import type { Usage } from './metering/usage.ts';
import type { ProviderError, StreamState } from './providers/types.ts';

/** Generated text kept for estimates is bounded; past it the estimate undercounts (and says so). */
const MAX_KEPT_CHARS = 4 * 1024 * 1024;

export class MutableStreamState implements StreamState {
  usage: Usage | undefined;
  error: ProviderError | undefined;
  responseModel: string | undefined;
  finished = false;
  /** The provider's finish reasons as it sent them (one per choice), for the attempt's span. */
  finishReasons: string[] | undefined;
  #parts: string[] = [];
  #kept = 0;
  /** Decoders that keep raw events instead of text turn them into text only when asked. */
  #lazy: (() => string) | undefined;

  addFinishReason(reason: string): void {
    if (this.finishReasons) this.finishReasons.push(reason);
    else this.finishReasons = [reason];
  }

  /** Text generated (content, tool arguments, reasoning) as it arrives. */
  addText(text: string): void {
    if (!text || this.#kept >= MAX_KEPT_CHARS) return;
    this.#parts.push(text);
    this.#kept += text.length;
  }

  /** For pass-through: raw events are kept and turned into text only if an estimate is needed. */
  setLazyText(extract: () => string): void {
    this.#lazy = extract;
  }

  generatedText(): string {
    if (this.#lazy) {
      const text = this.#lazy();
      this.#lazy = undefined;
      this.#parts = [text];
    }
    return this.#parts.join('');
  }
}

/** Keeps raw event payloads (bounded) for a lazy text extraction. */
export class RawEventKeeper {
  /** Payloads, or runs of events as they came on the wire (`data: <payload>` lines, `\n\n` after each). */
  readonly #kept: Array<string | Buffer> = [];
  #chars = 0;

  keep(data: string): void {
    if (this.#chars >= MAX_KEPT_CHARS) return;
    this.#kept.push(data);
    this.#chars += data.length;
  }

  /** Keeps a run of single-line `data:` events as they came, split into payloads only when asked. */
  keepEvents(bytes: Buffer): void {
    if (this.#chars >= MAX_KEPT_CHARS) return;
    this.#kept.push(bytes);
    this.#chars += bytes.length;
  }

  /** Each kept payload parsed as JSON (skipping any that is not) and mapped to text. */
  text(extract: (json: unknown) => string): string {
    let out = '';
    for (const kept of this.#kept) {
      if (typeof kept === 'string') out += payloadText(kept, extract);
      else
        for (const event of kept.toString('utf8').split('\n\n'))
          if (event) out += payloadText(event.slice(6), extract);
    }
    return out;
  }
}

function payloadText(data: string, extract: (json: unknown) => string): string {
  try {
    return extract(JSON.parse(data) as unknown);
  } catch {
    // A payload that is not JSON carries no text we could count.
    return '';
  }
}
