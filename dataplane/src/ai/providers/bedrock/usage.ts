// Bedrock usage: like Anthropic's, cache reads and writes are counted apart from inputTokens; the
// gateway's input figure is their sum.

import { isRecord } from '../../formats/http.ts';
import { tokenCount, type Usage } from '../../metering/usage.ts';

export function usageFromBedrock(usage: unknown): Usage | undefined {
  if (!isRecord(usage)) return undefined;
  const input = tokenCount(usage.inputTokens);
  const cached = tokenCount(usage.cacheReadInputTokens);
  const cacheWrite = tokenCount(usage.cacheWriteInputTokens);
  return {
    inputTokens: input + cached + cacheWrite,
    outputTokens: tokenCount(usage.outputTokens),
    cachedInputTokens: cached,
    cacheWriteTokens: cacheWrite,
    reasoningTokens: 0,
    estimated: false,
  };
}
