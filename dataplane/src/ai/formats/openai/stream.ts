// OpenAI chat completion streams: `data: <chunk JSON>` events ending with `data: [DONE]`, usage in
// a last chunk with empty choices when `stream_options.include_usage` is set (or, for some
// providers, on the final chunk itself), errors as `data: {"error": …}`.
import type { PassthroughStream, StreamDecoder, StreamState } from '../../providers/types.ts';
import { MutableStreamState, RawEventKeeper } from '../../stream-state.ts';
import type { ChatChunk } from '../../unified.ts';
import { isRecord } from '../http.ts';
import { frameEvent, type SSEEvent, SSEReader } from '../sse.ts';
import { openAIStreamError } from './errors.ts';
import { usageFromOpenAI } from './usage.ts';

/** Text a chunk adds: content, refusal, reasoning and tool-call arguments. */
export function chunkText(json: unknown): string {
  if (!isRecord(json) || !Array.isArray(json.choices)) return '';
  let text = '';
  for (const choice of json.choices) {
    const delta = isRecord(choice) && isRecord(choice.delta) ? choice.delta : undefined;
    if (!delta) continue;
    if (typeof delta.content === 'string') text += delta.content;
    if (typeof delta.refusal === 'string') text += delta.refusal;
    if (typeof delta.reasoning_content === 'string') text += delta.reasoning_content;
    if (Array.isArray(delta.tool_calls)) {
      for (const call of delta.tool_calls) {
        const fn = isRecord(call) && isRecord(call.function) ? call.function : undefined;
        if (typeof fn?.name === 'string') text += fn.name;
        if (typeof fn?.arguments === 'string') text += fn.arguments;
      }
    }
  }
  return text;
}

/** Whether a chunk's data carries a usage object (`"usage":null` on every chunk does not count). */
function hasUsageObject(data: string): boolean {
  let at = data.indexOf('"usage"');
  while (at !== -1) {
    let i = at + 7;
    while (data[i] === ' ' || data[i] === ':') i++;
    if (data[i] === '{') return true;
    at = data.indexOf('"usage"', i);
  }
  return false;
}

const FINISHED = /"finish_reason"\s*:\s*"([^"]*)"/;

/** Records the finish reason of every choice that carries one; true when any did. */
function noteFinishReasons(state: MutableStreamState, choices: unknown[]): boolean {
  let found = false;
  for (const choice of choices) {
    if (isRecord(choice) && typeof choice.finish_reason === 'string') {
      state.addFinishReason(choice.finish_reason);
      found = true;
    }
  }
  return found;
}

function looksLikeError(data: string): boolean {
  return data.includes('"error"');
}

/** Translating decoder: chunks are handed on without usage, which the state keeps. */
export class OpenAIStreamDecoder implements StreamDecoder {
  readonly #state = new MutableStreamState();
  readonly #reader = new SSEReader();

  get state(): StreamState {
    return this.#state;
  }

  push(bytes: Buffer): ChatChunk[] {
    return this.#decode(this.#reader.push(bytes));
  }

  end(): ChatChunk[] {
    return this.#decode(this.#reader.end());
  }

  #decode(events: SSEEvent[]): ChatChunk[] {
    const out: ChatChunk[] = [];
    for (const { data } of events) {
      if (data === '[DONE]') {
        this.#state.finished = true;
        continue;
      }
      let json: unknown;
      try {
        json = JSON.parse(data);
      } catch {
        continue;
      }
      if (!isRecord(json)) continue;
      if (isRecord(json.error) && !Array.isArray(json.choices)) {
        this.#state.error ??= openAIStreamError(json.error);
        continue;
      }
      const usage = usageFromOpenAI(json.usage);
      if (usage) this.#state.usage = usage;
      if (typeof json.model === 'string') this.#state.responseModel ??= json.model;
      if (!Array.isArray(json.choices) || json.choices.length === 0) continue;
      noteFinishReasons(this.#state, json.choices);
      this.#state.addText(chunkText(json));
      const { usage: _dropped, ...chunk } = json;
      out.push(chunk as ChatChunk);
    }
    return out;
  }
}

/**
 * Pass-through: events re-framed as they came, only events that carry usage or an error are
 * parsed; the rest are kept raw for an estimate should the stream break off.
 */
export class OpenAIPassthrough implements PassthroughStream {
  readonly #state = new MutableStreamState();
  readonly #reader = new SSEReader();
  readonly #kept = new RawEventKeeper();
  readonly #dropUsageEvent: boolean;
  #modelSeen = false;

  constructor(options: { dropUsageEvent: boolean }) {
    this.#dropUsageEvent = options.dropUsageEvent;
    this.#state.setLazyText(() => this.#kept.text(chunkText));
  }

  get state(): StreamState {
    return this.#state;
  }

  push(bytes: Buffer): string {
    return this.#relay(this.#reader.push(bytes));
  }

  end(): string {
    return this.#relay(this.#reader.end());
  }

  #relay(events: SSEEvent[]): string {
    let out = '';
    for (const { event, data } of events) {
      if (data === '[DONE]') {
        this.#state.finished = true;
        out += frameEvent(event, data);
        continue;
      }
      if (!this.#modelSeen) this.#readModel(data);
      if (hasUsageObject(data) || looksLikeError(data)) {
        if (this.#inspect(data)) continue;
      } else {
        this.#kept.keep(data);
        const finish = FINISHED.exec(data);
        if (finish) {
          this.#state.finished = true;
          this.#state.addFinishReason(finish[1]!);
        }
      }
      out += frameEvent(event, data);
    }
    return out;
  }

  #readModel(data: string): void {
    const at = data.indexOf('"model":"');
    if (at === -1) return;
    const end = data.indexOf('"', at + 9);
    if (end !== -1) this.#state.responseModel = data.slice(at + 9, end);
    this.#modelSeen = true;
  }

  /** Parses an event with usage or an error; returns true when it must not reach the client. */
  #inspect(data: string): boolean {
    let json: unknown;
    try {
      json = JSON.parse(data);
    } catch {
      return false;
    }
    if (!isRecord(json)) return false;
    if (isRecord(json.error) && !Array.isArray(json.choices)) {
      this.#state.error ??= openAIStreamError(json.error);
      return false;
    }
    const usage = usageFromOpenAI(json.usage);
    const choices = Array.isArray(json.choices) ? json.choices : [];
    if (choices.length > 0) {
      this.#kept.keep(data);
      if (noteFinishReasons(this.#state, choices)) this.#state.finished = true;
    }
    if (usage) this.#state.usage = usage;
    return usage !== undefined && choices.length === 0 && this.#dropUsageEvent;
  }
}
