// Unified completion → Anthropic Message, as Anthropic-API clients expect it.
import { stopReasonOf } from '../../formats/anthropic/stop-reasons.ts';
import { toAnthropicUsage } from '../../formats/anthropic/usage.ts';
import { emptyUsage, type Usage } from '../../metering/usage.ts';
import type { ChatCompletion } from '../../unified.ts';

export function toAnthropicMessage(
  completion: ChatCompletion,
  usage: Usage | undefined,
): Record<string, unknown> {
  const choice = completion.choices[0];
  const content: Array<Record<string, unknown>> = [];
  const text = choice?.message.content;
  if (typeof text === 'string' && text) content.push({ type: 'text', text });
  for (const call of choice?.message.tool_calls ?? []) {
    let input: unknown = {};
    try {
      input = call.function.arguments ? JSON.parse(call.function.arguments) : {};
    } catch {
      input = { arguments: call.function.arguments };
    }
    content.push({ type: 'tool_use', id: call.id, name: call.function.name, input });
  }
  return {
    id: completion.id.startsWith('msg_') ? completion.id : `msg_${completion.id}`,
    type: 'message',
    role: 'assistant',
    model: completion.model,
    content,
    stop_reason: stopReasonOf(choice?.finish_reason),
    stop_sequence: null,
    usage: toAnthropicUsage(usage ?? emptyUsage()),
  };
}
