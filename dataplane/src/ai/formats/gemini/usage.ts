// Gemini's usageMetadata → Usage. `promptTokenCount` already includes the cached part
// (`cachedContentTokenCount`); `candidatesTokenCount` leaves out thinking (`thoughtsTokenCount`),
// which the gateway counts as output. In a stream every chunk carries the totals so far.
import { tokenCount, type Usage } from '../../metering/usage.ts';
import { isRecord } from '../http.ts';

export function usageFromGemini(metadata: unknown): Usage | undefined {
  if (!isRecord(metadata)) return undefined;
  const thoughts = tokenCount(metadata.thoughtsTokenCount);
  return {
    inputTokens: tokenCount(metadata.promptTokenCount) + tokenCount(metadata.toolUsePromptTokenCount),
    outputTokens: tokenCount(metadata.candidatesTokenCount) + thoughts,
    cachedInputTokens: tokenCount(metadata.cachedContentTokenCount),
    cacheWriteTokens: 0,
    reasoningTokens: thoughts,
    estimated: false,
  };
}
