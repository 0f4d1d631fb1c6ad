// OpenAI itself: the reference the unified format is modelled on, so requests need no translation.
import { bearer, openAIPath, openAIStyleAdapter } from '../../formats/openai/adapter.ts';
import type { ProviderAdapter } from '../types.ts';

export const openAIAdapter: ProviderAdapter = openAIStyleAdapter({
  types: ['openai'],
  path: (operation, _model, target) => openAIPath(operation, target.basePath),
  headers: bearer,
  streamUsageOption: true,
});
