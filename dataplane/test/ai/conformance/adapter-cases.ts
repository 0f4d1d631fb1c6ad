// The shared conformance table: one row per provider adapter. Every row runs through the same
// suite (conformance.test.ts): both client SDKs, streaming and not, tools, embeddings where the
// provider has them, exact metering, error mapping, awkward SSE framing. A new adapter adds a row
// here and a mock provider in @tollgate/testkit; the suite itself does not change.
import type { MockProvider, MockProviderOptions } from '@tollgate/testkit';

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
