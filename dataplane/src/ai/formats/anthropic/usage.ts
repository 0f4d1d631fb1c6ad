// Anthropic's usage → Usage. Anthropic counts cache reads and cache writes apart from
// `input_tokens`; the gateway's input figure is their sum. In a stream, message_start carries the
// input side and message_delta cumulative totals, so usage is merged field by field as it comes.
import { tokenCount, type Usage } from '../../metering/usage.ts';
import { isRecord } from '../http.ts';

export interface AnthropicUsageFields {
  input_tokens: number;
  output_tokens: number;
  cache_read_input_tokens: number;
  cache_creation_input_tokens: number;
  thinking_tokens: number;
}

export function emptyAnthropicUsage(): AnthropicUsageFields {
  return {
    input_tokens: 0,
    output_tokens: 0,
    cache_read_input_tokens: 0,
    cache_creation_input_tokens: 0,
    thinking_tokens: 0,
  };
}

/** Overwrites the fields `usage` has (Anthropic's stream totals are cumulative, never deltas). */
export function mergeAnthropicUsage(into: AnthropicUsageFields, usage: unknown): boolean {
  if (!isRecord(usage)) return false;
  for (const key of [
    'input_tokens',
    'output_tokens',
    'cache_read_input_tokens',
    'cache_creation_input_tokens',
  ] as const) {
    if (typeof usage[key] === 'number') into[key] = tokenCount(usage[key]);
  }
  const details = usage.output_tokens_details;
  if (isRecord(details) && typeof details.thinking_tokens === 'number')
    into.thinking_tokens = tokenCount(details.thinking_tokens);
  return true;
}

export function toUsage(fields: AnthropicUsageFields): Usage {
  return {
    inputTokens: fields.input_tokens + fields.cache_read_input_tokens + fields.cache_creation_input_tokens,
    outputTokens: fields.output_tokens,
    cachedInputTokens: fields.cache_read_input_tokens,
    cacheWriteTokens: fields.cache_creation_input_tokens,
    reasoningTokens: Math.min(fields.thinking_tokens, fields.output_tokens),
    estimated: false,
  };
}

export function usageFromAnthropic(usage: unknown): Usage | undefined {
  const fields = emptyAnthropicUsage();
  return mergeAnthropicUsage(fields, usage) ? toUsage(fields) : undefined;
}

/** Usage → Anthropic's fields (the inverse of toUsage), for clients speaking Anthropic's API. */
export function toAnthropicUsage(usage: Usage): {
  input_tokens: number;
  output_tokens: number;
  cache_read_input_tokens: number;
  cache_creation_input_tokens: number;
} {
  return {
    input_tokens: Math.max(0, usage.inputTokens - usage.cachedInputTokens - usage.cacheWriteTokens),
    output_tokens: usage.outputTokens,
    cache_read_input_tokens: usage.cachedInputTokens,
    cache_creation_input_tokens: usage.cacheWriteTokens,
  };
}
