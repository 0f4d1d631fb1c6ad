// Where an Azure OpenAI request goes and how it authenticates.
import { isRecord } from '../../formats/http.ts';
import type { Operation, ProviderTarget } from '../types.ts';

const DEFAULT_API_VERSION = '2024-10-21';

export function azurePath(operation: Operation, model: string, target: ProviderTarget): string {
  const azure = isRecord(target.options.azure) ? target.options.azure : {};
  const apiVersion = typeof azure.apiVersion === 'string' ? azure.apiVersion : DEFAULT_API_VERSION;
  const deployments = Array.isArray(azure.deployments) ? azure.deployments : [];
  const entry = deployments.find((d) => isRecord(d) && d.model === model) as
    | { deployment?: unknown }
    | undefined;
  const deployment = typeof entry?.deployment === 'string' ? entry.deployment : model;
  const op = operation === 'chat' ? 'chat/completions' : 'embeddings';
  return `${target.basePath}/openai/deployments/${encodeURIComponent(deployment)}/${op}?api-version=${encodeURIComponent(apiVersion)}`;
}

/** The resource's model list, for health checks. */
export function azureModelsPath(target: ProviderTarget): string {
  const azure = isRecord(target.options.azure) ? target.options.azure : {};
  const apiVersion = typeof azure.apiVersion === 'string' ? azure.apiVersion : DEFAULT_API_VERSION;
  return `${target.basePath}/openai/models?api-version=${encodeURIComponent(apiVersion)}`;
}

export function azureHeaders(target: ProviderTarget): Record<string, string> {
  const key = target.ir.credentials.apiKey;
  return key ? { 'api-key': key } : {};
}
