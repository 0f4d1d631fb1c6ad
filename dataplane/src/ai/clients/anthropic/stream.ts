// Unified chunks → Anthropic's stream events: message_start, then per content block
// content_block_start / content_block_delta (text_delta, input_json_delta) / content_block_stop,
// then message_delta with the stop reason and usage, and message_stop. Usage comes last in the
// unified stream, so message_delta waits for the end.
import { anthropicErrorType } from '../../formats/anthropic/errors.ts';
import { stopReasonOf } from '../../formats/anthropic/stop-reasons.ts';
import { toAnthropicUsage } from '../../formats/anthropic/usage.ts';
import { frameEvent } from '../../formats/sse.ts';
import { emptyUsage, type Usage } from '../../metering/usage.ts';
import type { ProviderError } from '../../providers/types.ts';
import type { ChatChunk, FinishReason } from '../../unified.ts';
import type { ClientStreamEncoder } from '../types.ts';

type Open = { kind: 'text'; index: number } | { kind: 'tool'; index: number; toolIndex: number };

function event(type: string, body: Record<string, unknown>): string {
  return frameEvent(type, JSON.stringify({ type, ...body }));
}

export class AnthropicStreamEncoder implements ClientStreamEncoder {
  readonly #model: string;
  #started = false;
  #open: Open | undefined;
  #nextIndex = 0;
  #finish: FinishReason | null = null;

  constructor(options: { model: string }) {
    this.#model = options.model;
  }

  chunks(chunks: readonly ChatChunk[]): string {
    let out = '';
    for (const chunk of chunks) {
      out += this.#start(chunk);
      const choice = chunk.choices[0];
      if (!choice) continue;
      const { delta } = choice;
      if (typeof delta.content === 'string' && delta.content) {
        if (this.#open?.kind !== 'text') out += this.#openBlock({ type: 'text', text: '' }, { kind: 'text' });
        out += event('content_block_delta', {
          index: this.#open!.index,
          delta: { type: 'text_delta', text: delta.content },
        });
      }
      for (const call of delta.tool_calls ?? []) {
        const open = this.#open;
        if (open?.kind !== 'tool' || open.toolIndex !== call.index) {
          out += this.#openBlock(
            {
              type: 'tool_use',
              id: call.id ?? `toolu_${call.index}`,
              name: call.function?.name ?? '',
              input: {},
            },
            { kind: 'tool', toolIndex: call.index },
          );
        }
        const args = call.function?.arguments;
        if (args) {
          out += event('content_block_delta', {
            index: this.#open!.index,
            delta: { type: 'input_json_delta', partial_json: args },
          });
        }
      }
      if (choice.finish_reason) this.#finish = choice.finish_reason;
    }
    return out;
  }

  end(usage: Usage | undefined): string {
    let out = this.#start(undefined);
    out += this.#closeBlock();
    const wire = toAnthropicUsage(usage ?? emptyUsage());
    out += event('message_delta', {
      delta: { stop_reason: stopReasonOf(this.#finish), stop_sequence: null },
      usage: wire,
    });
    return out + event('message_stop', {});
  }

  error(error: ProviderError): string {
    return event('error', {
      error: { type: anthropicErrorType(error.status || 500), message: error.message },
    });
  }

  #start(chunk: ChatChunk | undefined): string {
    if (this.#started) return '';
    this.#started = true;
    const id = chunk?.id ? (chunk.id.startsWith('msg_') ? chunk.id : `msg_${chunk.id}`) : 'msg_gateway';
    return event('message_start', {
      message: {
        id,
        type: 'message',
        role: 'assistant',
        model: chunk?.model || this.#model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: 0, output_tokens: 0 },
      },
    });
  }

  #openBlock(
    block: Record<string, unknown>,
    open: { kind: 'text' } | { kind: 'tool'; toolIndex: number },
  ): string {
    const out = this.#closeBlock();
    const index = this.#nextIndex++;
    this.#open = { ...open, index };
    return out + event('content_block_start', { index, content_block: block });
  }

  #closeBlock(): string {
    if (!this.#open) return '';
    const { index } = this.#open;
    this.#open = undefined;
    return event('content_block_stop', { index });
  }
}
