// The shared conformance table: one row per provider adapter. Every row runs through the same
// suite (conformance.test.ts): both client SDKs, streaming and not, tools, embeddings where the
// provider has them, exact metering, error mapping, awkward SSE framing. A new adapter adds a row
// here and a mock provider in @tollgate/testkit; the suite itself does not change.
import {
  type MockProvider,
  type MockProviderOptions,
  startAnthropicMock,
  startOpenAIMock,
} from '@tollgate/testkit';

export interface AdapterCase {
  /** The AIProvider spec.type under test. */
  type: string;
  /** Starts the mock provider this adapter talks to. */
  startMock(options?: MockProviderOptions): Promise<MockProvider>;
  /**
   * The AIProvider spec (without models) pointing at the mock; credentials are read from the
   * Secret `<name>-key` (key `api-key`) the suite creates with `mock.apiKey`.
   */
  spec(mock: MockProvider, name: string): Record<string, unknown>;
  /** The provider model the mock serves for chat (and embeddings when supported). */
  chatModel: string;
  embeddingsModel?: string;
  /** Whether the provider reports cached/cache-write/reasoning tokens (checked field by field). */
  reportsDetailedUsage: boolean;
}

export const ADAPTER_CASES: AdapterCase[] = [
  {
    type: 'openai',
    startMock: (options) => startOpenAIMock({ ...options, variant: 'openai' }),
    spec: (mock) => ({ type: 'openai', baseURL: mock.baseURL }),
    chatModel: 'gpt-4o-mini',
    embeddingsModel: 'text-embedding-3-small',
    reportsDetailedUsage: true,
  },
  {
    type: 'azure-openai',
    startMock: (options) => startOpenAIMock({ ...options, variant: 'azure-openai' }),
    spec: (mock) => ({
      type: 'azure-openai',
      baseURL: mock.baseURL,
      azure: { apiVersion: '2024-10-21', deployments: [{ model: 'gpt-4o', deployment: 'prod-gpt-4o' }] },
    }),
    chatModel: 'gpt-4o',
    embeddingsModel: 'text-embedding-3-large',
    reportsDetailedUsage: true,
  },
  {
    type: 'mistral',
    startMock: (options) => startOpenAIMock({ ...options, variant: 'mistral' }),
    spec: (mock) => ({ type: 'mistral', baseURL: mock.baseURL }),
    chatModel: 'mistral-large-latest',
    embeddingsModel: 'mistral-embed',
    reportsDetailedUsage: false,
  },
  {
    type: 'openai-compatible',
    startMock: (options) => startOpenAIMock({ ...options, variant: 'openai-compatible' }),
    spec: (mock) => ({ type: 'openai-compatible', baseURL: mock.baseURL }),
    chatModel: 'llama-3.1-8b-instruct',
    embeddingsModel: 'nomic-embed-text',
    reportsDetailedUsage: false,
  },
  {
    type: 'anthropic',
    startMock: startAnthropicMock,
    spec: (mock) => ({ type: 'anthropic', baseURL: mock.baseURL }),
    chatModel: 'claude-test-model',
    reportsDetailedUsage: true,
  },
];
