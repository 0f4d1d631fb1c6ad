// Bedrock Converse response → unified chat completion.
import { randomUUID } from 'node:crypto';
import { isRecord } from '../../formats/http.ts';
import { toWireUsage, type Usage } from '../../metering/usage.ts';
import type { ChatCompletion, FinishReason, ToolCall } from '../../unified.ts';
import { usageFromBedrock } from './usage.ts';

export function finishReasonOf(stopReason: unknown): FinishReason {
  switch (stopReason) {
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'guardrail_intervened':
    case 'content_filtered':
      return 'content_filter';
    default:
      return 'stop';
  }
}

/** Converse answers carry no id; the gateway makes one in the unified shape. */
export function completionId(): string {
  return `chatcmpl-${randomUUID()}`;
}

export function fromConverseResponse(
  json: unknown,
  model: string,
): { completion: ChatCompletion; usage: Usage | undefined } {
  const message = isRecord(json) && isRecord(json.output) ? json.output.message : undefined;
  if (!isRecord(message) || !Array.isArray(message.content))
    throw new Error('the provider answered without output.message.content');
  let text = '';
  const toolCalls: ToolCall[] = [];
  for (const block of message.content) {
    if (!isRecord(block)) continue;
    if (typeof block.text === 'string') text += block.text;
    if (isRecord(block.toolUse)) {
      const use = block.toolUse;
      toolCalls.push({
        id: String(use.toolUseId ?? ''),
        type: 'function',
        function: { name: String(use.name ?? ''), arguments: JSON.stringify(use.input ?? {}) },
      });
    }
  }
  const usage = usageFromBedrock((json as Record<string, unknown>).usage);
  const completion: ChatCompletion = {
    id: completionId(),
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: text || (toolCalls.length > 0 ? null : ''),
          ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
        },
        finish_reason: finishReasonOf((json as Record<string, unknown>).stopReason),
      },
    ],
  };
  if (usage) completion.usage = toWireUsage(usage);
  return { completion, usage };
}
