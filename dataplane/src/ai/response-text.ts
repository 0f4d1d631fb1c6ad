// The generated text of a complete (non-streamed) response in any supported shape, for estimating
// output tokens when a provider reports no usage: OpenAI choices or Anthropic content blocks.
import { isRecord } from './formats/http.ts';

export function responseText(json: unknown): string {
  if (!isRecord(json)) return '';
  let text = '';
  if (Array.isArray(json.choices)) {
    for (const choice of json.choices) {
      const message = isRecord(choice) && isRecord(choice.message) ? choice.message : undefined;
      if (!message) continue;
      if (typeof message.content === 'string') text += message.content;
      if (Array.isArray(message.tool_calls)) {
        for (const call of message.tool_calls) {
          const fn = isRecord(call) && isRecord(call.function) ? call.function : undefined;
          if (typeof fn?.name === 'string') text += fn.name;
          if (typeof fn?.arguments === 'string') text += fn.arguments;
        }
      }
    }
  }
  if (Array.isArray(json.content)) {
    for (const block of json.content) {
      if (!isRecord(block)) continue;
      if (typeof block.text === 'string') text += block.text;
      if (typeof block.thinking === 'string') text += block.thinking;
      if (block.type === 'tool_use')
        text += `${String(block.name ?? '')}${JSON.stringify(block.input ?? {})}`;
    }
  }
  return text;
}
