// Anthropic's stream (message_start, content_block_start/delta/stop, message_delta, message_stop,
// ping, error) → unified chunks; and the pass-through that relays it while metering.

import { anthropicStreamError } from '../../formats/anthropic/errors.ts';
import { finishReasonOf } from '../../formats/anthropic/stop-reasons.ts';
import { emptyAnthropicUsage, mergeAnthropicUsage, toUsage } from '../../formats/anthropic/usage.ts';
import { isRecord, parseJson } from '../../formats/http.ts';
import { frameEvent, type SSEEvent, SSEReader } from '../../formats/sse.ts';
import { MutableStreamState, RawEventKeeper } from '../../stream-state.ts';
import type { ChatChunk, FinishReason, ToolCallDelta } from '../../unified.ts';
import type { PassthroughStream, StreamDecoder, StreamState } from '../types.ts';

/** Text of a content_block_delta event (text, tool input, thinking), for estimates. */
function deltaText(json: unknown): string {
  if (!isRecord(json) || !isRecord(json.delta)) return '';
  const { delta } = json;
  if (typeof delta.text === 'string') return delta.text;
  if (typeof delta.partial_json === 'string') return delta.partial_json;
  if (typeof delta.thinking === 'string') return delta.thinking;
  return '';
}

/** Shared event handling: usage, model, errors and the end of the message. */
class AnthropicEvents {
  readonly state = new MutableStreamState();
  readonly #usage = emptyAnthropicUsage();

  /** Updates the state from one parsed event. */
  observe(type: string, json: unknown): void {
    if (type === 'message_start' && isRecord(json) && isRecord(json.message)) {
      const { message } = json;
      if (typeof message.model === 'string') this.state.responseModel = message.model;
      if (mergeAnthropicUsage(this.#usage, message.usage)) this.state.usage = toUsage(this.#usage);
    } else if (type === 'message_delta' && isRecord(json)) {
      if (mergeAnthropicUsage(this.#usage, json.usage)) this.state.usage = toUsage(this.#usage);
      const reason = isRecord(json.delta) ? json.delta.stop_reason : undefined;
      if (typeof reason === 'string') this.state.addFinishReason(reason);
    } else if (type === 'message_stop') {
      this.state.finished = true;
    } else if (type === 'error') {
      this.state.error ??= anthropicStreamError(json);
    }
  }
}

function eventType(event: SSEEvent, json: unknown): string {
  if (event.event) return event.event;
  return isRecord(json) && typeof json.type === 'string' ? json.type : '';
}

export class AnthropicStreamDecoder implements StreamDecoder {
  readonly #events = new AnthropicEvents();
  readonly #reader = new SSEReader();
  #id = '';
  #model = '';
  readonly #created = Math.floor(Date.now() / 1000);
  /** content block index → tool call index */
  readonly #toolIndex = new Map<number, number>();

  get state(): StreamState {
    return this.#events.state;
  }

  push(bytes: Buffer): ChatChunk[] {
    return this.#decode(this.#reader.push(bytes));
  }

  end(): ChatChunk[] {
    return this.#decode(this.#reader.end());
  }

  #decode(events: SSEEvent[]): ChatChunk[] {
    const out: ChatChunk[] = [];
    for (const event of events) {
      const json = parseJson(event.data);
      if (json === undefined) continue;
      const type = eventType(event, json);
      this.#events.observe(type, json);
      const chunk = this.#translate(type, json);
      if (chunk) out.push(chunk);
    }
    return out;
  }

  #translate(type: string, json: unknown): ChatChunk | undefined {
    if (!isRecord(json)) return undefined;
    switch (type) {
      case 'message_start': {
        const message = isRecord(json.message) ? json.message : {};
        this.#id = typeof message.id === 'string' ? message.id : '';
        this.#model = typeof message.model === 'string' ? message.model : '';
        return this.#chunk({ role: 'assistant', content: '' }, null);
      }
      case 'content_block_start': {
        const block = isRecord(json.content_block) ? json.content_block : {};
        const index = typeof json.index === 'number' ? json.index : 0;
        if (block.type === 'tool_use') {
          const toolIndex = this.#toolIndex.size;
          this.#toolIndex.set(index, toolIndex);
          const name = String(block.name ?? '');
          this.#events.state.addText(name);
          const call: ToolCallDelta = {
            index: toolIndex,
            id: String(block.id ?? ''),
            type: 'function',
            function: { name, arguments: '' },
          };
          return this.#chunk({ tool_calls: [call] }, null);
        }
        if (block.type === 'text' && typeof block.text === 'string' && block.text) {
          this.#events.state.addText(block.text);
          return this.#chunk({ content: block.text }, null);
        }
        return undefined;
      }
      case 'content_block_delta': {
        const delta = isRecord(json.delta) ? json.delta : {};
        const index = typeof json.index === 'number' ? json.index : 0;
        this.#events.state.addText(deltaText(json));
        if (delta.type === 'text_delta' && typeof delta.text === 'string')
          return this.#chunk({ content: delta.text }, null);
        if (delta.type === 'input_json_delta' && typeof delta.partial_json === 'string') {
          const toolIndex = this.#toolIndex.get(index) ?? 0;
          return this.#chunk(
            { tool_calls: [{ index: toolIndex, function: { arguments: delta.partial_json } }] },
            null,
          );
        }
        return undefined;
      }
      case 'message_delta': {
        const delta = isRecord(json.delta) ? json.delta : {};
        if (delta.stop_reason === undefined || delta.stop_reason === null) return undefined;
        return this.#chunk({}, finishReasonOf(delta.stop_reason));
      }
      default:
        return undefined;
    }
  }

  #chunk(delta: ChatChunk['choices'][number]['delta'], finish: FinishReason | null): ChatChunk {
    return {
      id: this.#id,
      object: 'chat.completion.chunk',
      created: this.#created,
      model: this.#model,
      choices: [{ index: 0, delta, finish_reason: finish }],
    };
  }
}

/** Events the pass-through parses; content deltas are only kept for a possible estimate. */
const OBSERVED = new Set(['message_start', 'message_delta', 'message_stop', 'error']);

export class AnthropicPassthrough implements PassthroughStream {
  readonly #events = new AnthropicEvents();
  readonly #reader = new SSEReader();
  readonly #kept = new RawEventKeeper();

  constructor() {
    this.#events.state.setLazyText(() => this.#kept.text(deltaText));
  }

  get state(): StreamState {
    return this.#events.state;
  }

  push(bytes: Buffer): string {
    return this.#relay(this.#reader.push(bytes));
  }

  end(): string {
    return this.#relay(this.#reader.end());
  }

  #relay(events: SSEEvent[]): string {
    let out = '';
    for (const event of events) {
      const type = event.event ?? '';
      if (OBSERVED.has(type) || type === '') {
        const json = parseJson(event.data);
        this.#events.observe(eventType(event, json), json);
      } else if (type === 'content_block_delta' || type === 'content_block_start') {
        this.#kept.keep(event.data);
      }
      out += frameEvent(event.event, event.data);
    }
    return out;
  }
}
