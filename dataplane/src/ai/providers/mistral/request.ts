// Request fields Mistral names differently.
import type { JsonEdits } from '../../json-splice.ts';

/** `max_completion_tokens` (OpenAI's newer name) becomes `max_tokens`. */
export function mistralNativeEdits(json: Record<string, unknown>): JsonEdits {
  if (json.max_completion_tokens === undefined) return {};
  return {
    max_completion_tokens: undefined,
    max_tokens: JSON.stringify(json.max_tokens ?? json.max_completion_tokens),
  };
}

export function mistralUnified(body: Record<string, unknown>): void {
  if (body.max_completion_tokens === undefined) return;
  body.max_tokens ??= body.max_completion_tokens;
  delete body.max_completion_tokens;
}
