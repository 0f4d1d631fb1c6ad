// Mistral speaks OpenAI's chat format with a few differences: usage arrives on the final stream
// chunk without being asked (stream_options is not part of its API, so it is never sent), and
// the output limit is `max_tokens` only.
import { bearer, openAIPath, openAIStyleAdapter } from '../../formats/openai/adapter.ts';
import type { ProviderAdapter } from '../types.ts';
import { mistralNativeEdits, mistralUnified } from './request.ts';

export const mistralAdapter: ProviderAdapter = openAIStyleAdapter({
  types: ['mistral'],
  path: (operation, _model, target) => openAIPath(operation, target.basePath),
  headers: bearer,
  streamUsageOption: false,
  nativeEdits: mistralNativeEdits,
  adjustUnified: mistralUnified,
});
