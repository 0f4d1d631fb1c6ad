// The request body sent to Anthropic: the client's own bytes on pass-through (model rewritten),
// or the unified request translated.
import { spliceJson } from '../../json-splice.ts';
import { type PrepareInput, ProviderRequestError } from '../types.ts';
import { DEFAULT_MAX_TOKENS, toAnthropicRequest } from './request.ts';

export function anthropicRequestBody(input: PrepareInput): string {
  const { body, model, stream } = input;
  if (body.kind === 'native') {
    return body.json.model === model ? body.text : spliceJson(body.text, { model: JSON.stringify(model) });
  }
  if (body.kind !== 'chat') throw new ProviderRequestError('this provider serves chat only');
  const configured = input.target.ir.models.find((m) => m.name === model)?.maxOutputTokens;
  const maxTokens = typeof configured === 'number' ? configured : DEFAULT_MAX_TOKENS;
  return JSON.stringify(toAnthropicRequest(body.request, model, stream, maxTokens));
}
