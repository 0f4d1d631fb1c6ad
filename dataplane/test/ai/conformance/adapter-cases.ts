// The shared conformance table: one row per provider adapter. Every row runs through the same
// suite (conformance.test.ts): both client SDKs, streaming and not, tools, embeddings where the
// provider has them, exact metering, error mapping, awkward SSE framing. A new adapter adds a row
// here and a mock provider in @tollgate/testkit; the suite itself does not change.
import {
  type MockProvider,
  type MockProviderOptions,
  startAnthropicMock,
  startBedrockMock,
  startGeminiMock,
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
  /** The provider's API always carries usage (no deployment answers without it): no estimate case. */
  usageAlwaysReported?: boolean;
  /** False when the provider's embeddings answer carries no token counts (the gateway estimates). */
  embeddingsUsageReported?: boolean;
  /** Whether the provider reports cached/cache-write/reasoning tokens (checked field by field). */
  reportsDetailedUsage: boolean;
  /** For formats other than OpenAI's and Anthropic's: checks the image part of the body sent upstream. */
  expectSentImage?(body: Record<string, unknown>): void;
  /** For formats other than OpenAI's and Anthropic's: checks the response format in the body sent upstream. */
  expectSentResponseFormat?(body: Record<string, unknown>, schema: Record<string, unknown>): void;
}

/** Gemini's body (shared by Vertex AI): images as inlineData, JSON mode in generationConfig. */
const GEMINI_BODY_CHECKS = {
  expectSentImage(body: Record<string, unknown>): void {
    const parts = (body.contents as Array<{ parts: unknown[] }>).at(-1)!.parts;
    expect(parts).toContainEqual({ inlineData: { mimeType: 'image/png', data: 'iVBORw0KGgo=' } });
  },
  expectSentResponseFormat(body: Record<string, unknown>, schema: Record<string, unknown>): void {
    expect(body.generationConfig).toMatchObject({
      responseMimeType: 'application/json',
      responseSchema: schema,
    });
  },
};

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
    usageAlwaysReported: true,
    reportsDetailedUsage: true,
  },
  {
    type: 'gemini',
    startMock: (options) => startGeminiMock({ ...options, variant: 'gemini' }),
    spec: (mock) => ({ type: 'gemini', baseURL: mock.baseURL }),
    chatModel: 'gemini-2.5-flash',
    embeddingsModel: 'gemini-embedding-001',
    embeddingsUsageReported: false,
    reportsDetailedUsage: true,
    ...GEMINI_BODY_CHECKS,
  },
  {
    type: 'vertex-ai',
    startMock: (options) => startGeminiMock({ ...options, variant: 'vertex-ai' }),
    // The Secret holds the mock's service-account JSON key (its token_uri points at the mock).
    spec: (mock, name) => ({
      type: 'vertex-ai',
      baseURL: mock.baseURL,
      vertex: { project: 'tollgate-test', location: 'us-central1' },
      auth: { gcp: { serviceAccountKeyRef: { name: `${name}-key`, key: 'api-key' } } },
    }),
    chatModel: 'gemini-2.5-pro',
    embeddingsModel: 'text-embedding-005',
    reportsDetailedUsage: true,
    ...GEMINI_BODY_CHECKS,
  },
  {
    type: 'bedrock',
    startMock: startBedrockMock,
    // The mock takes its key as both the access key id and the secret access key, and verifies
    // every request's SigV4 signature.
    spec: (mock, name) => ({
      type: 'bedrock',
      baseURL: mock.baseURL,
      bedrock: { region: 'us-east-1' },
      auth: {
        aws: {
          accessKeyIdRef: { name: `${name}-key`, key: 'api-key' },
          secretAccessKeyRef: { name: `${name}-key`, key: 'api-key' },
        },
      },
    }),
    chatModel: 'anthropic.claude-test-v1:0',
    embeddingsModel: 'cohere.embed-english-v3',
    reportsDetailedUsage: true,
    expectSentImage(body: Record<string, unknown>): void {
      const content = (body.messages as Array<{ content: unknown[] }>).at(-1)!.content;
      expect(content).toContainEqual({ image: { format: 'png', source: { bytes: 'iVBORw0KGgo=' } } });
    },
    expectSentResponseFormat(body: Record<string, unknown>, schema: Record<string, unknown>): void {
      const system = (body.system as Array<{ text: string }>).map((block) => block.text).join('\n');
      expect(system).toContain(JSON.stringify(schema));
    },
  },
];
