// ConverseStream events (messageStart, contentBlockStart/Delta/Stop, messageStop, metadata, and
// exception frames) → unified chunks.
import { isRecord } from '../../formats/http.ts';
import { MutableStreamState } from '../../stream-state.ts';
import type { ChatChunk, FinishReason, ToolCallDelta } from '../../unified.ts';
import type { StreamDecoder, StreamState } from '../types.ts';
import { bedrockStreamError } from './errors.ts';
import { type EventFrame, EventStreamReader } from './event-stream.ts';
import { completionId, finishReasonOf } from './response.ts';
import { usageFromBedrock } from './usage.ts';

const utf8 = new TextDecoder();

export class BedrockStreamDecoder implements StreamDecoder {
  readonly #state = new MutableStreamState();
  readonly #reader = new EventStreamReader();
  readonly #id = completionId();
  readonly #model: string;
  readonly #created = Math.floor(Date.now() / 1000);
  /** content block index → tool call index */
  readonly #toolIndex = new Map<number, number>();

  constructor(model: string) {
    this.#model = model;
    this.#state.responseModel = model;
  }

  get state(): StreamState {
    return this.#state;
  }

  push(bytes: Buffer): ChatChunk[] {
    let frames: EventFrame[];
    try {
      frames = this.#reader.push(bytes);
    } catch (error) {
      this.#state.error ??= { status: 502, kind: 'server', message: (error as Error).message };
      return [];
    }
    const out: ChatChunk[] = [];
    for (const frame of frames) {
      const chunk = this.#translate(frame);
      if (chunk) out.push(chunk);
    }
    return out;
  }

  end(): ChatChunk[] {
    return [];
  }

  #translate(frame: EventFrame): ChatChunk | undefined {
    let json: unknown;
    try {
      json = JSON.parse(utf8.decode(frame.payload));
    } catch {
      json = undefined;
    }
    if (frame.messageType !== 'event') {
      this.#state.error ??= bedrockStreamError(frame.exceptionType ?? frame.eventType, json);
      return undefined;
    }
    if (!isRecord(json)) return undefined;
    switch (frame.eventType) {
      case 'messageStart':
        return this.#chunk({ role: 'assistant', content: '' }, null);
      case 'contentBlockStart': {
        const start = isRecord(json.start) ? json.start : {};
        if (!isRecord(start.toolUse)) return undefined;
        const index = typeof json.contentBlockIndex === 'number' ? json.contentBlockIndex : 0;
        const toolIndex = this.#toolIndex.size;
        this.#toolIndex.set(index, toolIndex);
        const name = String(start.toolUse.name ?? '');
        this.#state.addText(name);
        const call: ToolCallDelta = {
          index: toolIndex,
          id: String(start.toolUse.toolUseId ?? ''),
          type: 'function',
          function: { name, arguments: '' },
        };
        return this.#chunk({ tool_calls: [call] }, null);
      }
      case 'contentBlockDelta': {
        const delta = isRecord(json.delta) ? json.delta : {};
        if (typeof delta.text === 'string') {
          this.#state.addText(delta.text);
          return this.#chunk({ content: delta.text }, null);
        }
        if (isRecord(delta.toolUse) && typeof delta.toolUse.input === 'string') {
          const index = typeof json.contentBlockIndex === 'number' ? json.contentBlockIndex : 0;
          this.#state.addText(delta.toolUse.input);
          const toolIndex = this.#toolIndex.get(index) ?? 0;
          return this.#chunk(
            { tool_calls: [{ index: toolIndex, function: { arguments: delta.toolUse.input } }] },
            null,
          );
        }
        return undefined;
      }
      case 'messageStop':
        this.#state.finished = true;
        if (typeof json.stopReason === 'string') this.#state.addFinishReason(json.stopReason);
        return this.#chunk({}, finishReasonOf(json.stopReason));
      case 'metadata': {
        const usage = usageFromBedrock(json.usage);
        if (usage) this.#state.usage = usage;
        return undefined;
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
