// The event that ends a stream a guardrail cut, in the caller's streaming format: OpenAI clients
// read an `error` object in a data line, Anthropic clients an `error` event. Same body as the
// non-streamed error (renderErrorBody), so SDKs raise the same error either way.
import { describeError, renderErrorBody } from '../../errors.ts';
import type { Refusal } from '../chain.ts';

export function guardrailStreamError(api: 'openai' | 'anthropic', refusal: Refusal): string {
  const { status, message } = describeError(refusal.code, refusal.params);
  const body = renderErrorBody(api, refusal.code, status, message);
  return api === 'anthropic' ? `event: error\ndata: ${body}\n\n` : `data: ${body}\n\n`;
}
