// Azure OpenAI: OpenAI's format behind deployments. The request goes to
// /openai/deployments/<deployment>/<operation>?api-version=<version>, authenticated with the
// `api-key` header; the deployment comes from spec.azure.deployments (default: the model name).
import { openAIStyleAdapter } from '../../formats/openai/adapter.ts';
import type { ProviderAdapter } from '../types.ts';
import { azureHeaders, azureModelsPath, azurePath } from './request.ts';

export const azureOpenAIAdapter: ProviderAdapter = openAIStyleAdapter({
  types: ['azure-openai'],
  path: azurePath,
  headers: azureHeaders,
  modelsPath: azureModelsPath,
  streamUsageOption: true,
});
