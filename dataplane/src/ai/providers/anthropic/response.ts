// Anthropic Message → unified chat completion.

import { finishReasonOf } from '../../formats/anthropic/stop-reasons.ts';
import { usageFromAnthropic } from '../../formats/anthropic/usage.ts';
import { isRecord } from '../../formats/http.ts';
import { toWireUsage, type Usage } from '../../metering/usage.ts';
import type { ChatCompletion, ToolCall } from '../../unified.ts';

export function fromAnthropicMessage(json: unknown): {
  completion: ChatCompletion;
  usage: Usage | undefined;
} {
  if (!isRecord(json) || !Array.isArray(json.content))
    throw new Error('the provider answered a message without content');
  let text = '';
  const toolCalls: ToolCall[] = [];
  for (const block of json.content) {
    if (!isRecord(block)) continue;
    if (block.type === 'text' && typeof block.text === 'string') text += block.text;
    if (block.type === 'tool_use') {
      toolCalls.push({
        id: String(block.id ?? ''),
        type: 'function',
        function: { name: String(block.name ?? ''), arguments: JSON.stringify(block.input ?? {}) },
      });
    }
  }
  const usage = usageFromAnthropic(json.usage);
  const completion: ChatCompletion = {
    id: typeof json.id === 'string' ? json.id : '',
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: typeof json.model === 'string' ? json.model : '',
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: text || (toolCalls.length > 0 ? null : ''),
          ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
        },
        finish_reason: finishReasonOf(json.stop_reason),
      },
    ],
  };
  if (usage) completion.usage = toWireUsage(usage);
  return { completion, usage };
}
