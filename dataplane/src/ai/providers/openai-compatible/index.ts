// Servers that speak OpenAI's API (vLLM, Ollama, LM Studio, llama.cpp, …). They are asked for
// stream usage like OpenAI; a server that ignores the request and reports none is metered by
// estimate. Ollama's OpenAI-compatible API lives under /v1 of its base URL.
import { bearer, openAIPath, openAIStyleAdapter } from '../../formats/openai/adapter.ts';
import type { ProviderAdapter } from '../types.ts';

export const openAICompatibleAdapter: ProviderAdapter = openAIStyleAdapter({
  types: ['openai-compatible', 'ollama'],
  path: (operation, _model, target) =>
    openAIPath(operation, target.ir.type === 'ollama' && target.basePath === '' ? '/v1' : target.basePath),
  headers: bearer,
  streamUsageOption: true,
});
