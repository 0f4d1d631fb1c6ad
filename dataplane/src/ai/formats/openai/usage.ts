// OpenAI's usage object → Usage. `prompt_tokens` already includes cached tokens and
// `completion_tokens` reasoning tokens, which is the gateway's meaning too.
import { tokenCount, type Usage } from '../../metering/usage.ts';
import { isRecord } from '../http.ts';

export function usageFromOpenAI(usage: unknown): Usage | undefined {
  if (!isRecord(usage)) return undefined;
  const prompt = isRecord(usage.prompt_tokens_details) ? usage.prompt_tokens_details : {};
  const completion = isRecord(usage.completion_tokens_details) ? usage.completion_tokens_details : {};
  return {
    inputTokens: tokenCount(usage.prompt_tokens),
    outputTokens: tokenCount(usage.completion_tokens),
    cachedInputTokens: tokenCount(prompt.cached_tokens),
    cacheWriteTokens: 0,
    reasoningTokens: tokenCount(completion.reasoning_tokens),
    estimated: false,
  };
}
