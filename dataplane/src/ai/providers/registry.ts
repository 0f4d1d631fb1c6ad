// AIProvider spec.type → adapter. A new adapter registers here, and nowhere else.
import { anthropicAdapter } from './anthropic/index.ts';
import { azureOpenAIAdapter } from './azure-openai/index.ts';
import { bedrockAdapter } from './bedrock/index.ts';
import { geminiAdapter } from './gemini/index.ts';
import { mistralAdapter } from './mistral/index.ts';
import { openAIAdapter } from './openai/index.ts';
import { openAICompatibleAdapter } from './openai-compatible/index.ts';
import type { ProviderAdapter } from './types.ts';
import { vertexAIAdapter } from './vertex-ai/index.ts';

const ADAPTERS: readonly ProviderAdapter[] = [
  openAIAdapter,
  openAICompatibleAdapter,
  azureOpenAIAdapter,
  mistralAdapter,
  anthropicAdapter,
  geminiAdapter,
  vertexAIAdapter,
  bedrockAdapter,
];

const BY_TYPE = new Map<string, ProviderAdapter>(
  ADAPTERS.flatMap((a) => a.types.map((t) => [t, a] as const)),
);

/** The adapter of a provider type; undefined for a type no adapter serves (yet). */
export function adapterFor(type: string): ProviderAdapter | undefined {
  return BY_TYPE.get(type);
}

export function supportedProviderTypes(): string[] {
  return [...BY_TYPE.keys()].sort();
}
