// Token usage of one request, in one meaning whatever the provider: `inputTokens` counts every
// prompt token (cache reads and cache writes included, as OpenTelemetry's gen_ai.usage.input_tokens
// does) and `outputTokens` every generated token (reasoning included). The other figures are the
// parts of those totals that are priced differently.

export interface Usage {
  inputTokens: number;
  outputTokens: number;
  /** Part of inputTokens read from the provider's prompt cache. */
  cachedInputTokens: number;
  /** Part of inputTokens written to the provider's prompt cache. */
  cacheWriteTokens: number;
  /** Part of outputTokens spent on reasoning. */
  reasoningTokens: number;
  /** True when some figure was counted by the gateway's tokenizer rather than reported by the provider. */
  estimated: boolean;
}

export function emptyUsage(): Usage {
  return {
    inputTokens: 0,
    outputTokens: 0,
    cachedInputTokens: 0,
    cacheWriteTokens: 0,
    reasoningTokens: 0,
    estimated: false,
  };
}

/** Non-negative integer or 0: provider usage fields are trusted only that far. */
export function tokenCount(value: unknown): number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : 0;
}

/** The unified wire usage (OpenAI shape) of a Usage. */
export function toWireUsage(usage: Usage): {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
  completion_tokens_details: { reasoning_tokens: number };
} {
  return {
    prompt_tokens: usage.inputTokens,
    completion_tokens: usage.outputTokens,
    total_tokens: usage.inputTokens + usage.outputTokens,
    prompt_tokens_details: { cached_tokens: usage.cachedInputTokens },
    completion_tokens_details: { reasoning_tokens: usage.reasoningTokens },
  };
}
