// Gemini's stream (`:streamGenerateContent?alt=sse`): every event is a whole GenerateContentResponse
// holding the next parts, the usage so far, and on the last one the finish reason. A function call
// arrives whole, so it becomes one tool-call delta with its complete arguments.

import type { StreamDecoder, StreamState } from '../../providers/types.ts';
import { MutableStreamState } from '../../stream-state.ts';
import type { ChatChunk, FinishReason } from '../../unified.ts';
import { isRecord, parseJson } from '../http.ts';
import { type SSEEvent, SSEReader } from '../sse.ts';
import { geminiStreamError } from './errors.ts';
import { finishReasonOf } from './finish-reasons.ts';
import { blockReasonOf, partsOf } from './response.ts';
import { usageFromGemini } from './usage.ts';

export class GeminiStreamDecoder implements StreamDecoder {
  readonly #state = new MutableStreamState();
  readonly #reader = new SSEReader();
  readonly #model: string;
  readonly #created = Math.floor(Date.now() / 1000);
  #id = '';
  #started = false;
  #toolCalls = 0;

  constructor(model: string) {
    this.#model = model;
  }

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
    for (const event of events) {
      const json = parseJson(event.data);
      if (!isRecord(json)) continue;
      if (isRecord(json.error)) {
        this.#state.error ??= geminiStreamError(json.error);
        continue;
      }
      this.#translate(json, out);
    }
    return out;
  }

  #translate(json: Record<string, unknown>, out: ChatChunk[]): void {
    if (typeof json.responseId === 'string') this.#id ||= json.responseId;
    if (typeof json.modelVersion === 'string') this.#state.responseModel = json.modelVersion;
    const usage = usageFromGemini(json.usageMetadata);
    if (usage) this.#state.usage = usage;
    if (!this.#started) {
      this.#started = true;
      out.push(this.#chunk({ role: 'assistant', content: '' }, null));
    }
    const candidate = Array.isArray(json.candidates) ? json.candidates[0] : undefined;
    const { text, calls } = partsOf(candidate);
    if (text) {
      this.#state.addText(text);
      out.push(this.#chunk({ content: text }, null));
    }
    for (const call of calls) {
      const index = this.#toolCalls++;
      this.#state.addText(call.name + call.arguments);
      out.push(
        this.#chunk(
          {
            tool_calls: [
              {
                index,
                id: call.id ?? `call_${this.#id || 'gemini'}_${index}`,
                type: 'function',
                function: { name: call.name, arguments: call.arguments },
              },
            ],
          },
          null,
        ),
      );
    }
    const reason = isRecord(candidate) ? candidate.finishReason : blockReasonOf(json);
    if (typeof reason === 'string' && reason) {
      this.#state.finished = true;
      this.#state.addFinishReason(reason);
      out.push(this.#chunk({}, finishReasonOf(reason, this.#toolCalls > 0)));
    }
  }

  #chunk(delta: ChatChunk['choices'][number]['delta'], finish: FinishReason | null): ChatChunk {
    return {
      id: this.#id,
      object: 'chat.completion.chunk',
      created: this.#created,
      model: this.#state.responseModel ?? this.#model,
      choices: [{ index: 0, delta, finish_reason: finish }],
    };
  }
}
