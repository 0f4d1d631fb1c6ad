// Policies through the real standalone stack: a Consumer whose key is in a Secret and a Policy
// requiring API keys, served by the controller and data-plane processes. The official OpenAI
// client works with the consumer's key and gets 401 without it; rotating the key in the Secret
// file locks the old key out without a restart.
import { type MockProvider, startOpenAIMock, waitFor } from '@tollgate/testkit';
import OpenAI from 'openai';
import { translateDocs } from '../src/docs-translate.ts';
import { type StandaloneStack, startStandaloneStack } from '../src/index.ts';
import { docsPageObjects } from '../src/journeys/docs.ts';
import {
  aiRouteManifests,
  apiKeysPolicy,
  consumerManifest,
  keySecret,
  yamlStream,
} from '../src/policy-stack.ts';

const SLOW = 60_000;

const consumerSecret = (key: string) => keySecret('app-key', key);

function manifests(provider: MockProvider): string {
  return yamlStream(
    aiRouteManifests(provider),
    consumerManifest('app', 'app-key', 'shop'),
    apiKeysPolicy(['authorization', 'x-api-key', 'api-key']),
  );
}

let provider: MockProvider;
let stack: StandaloneStack;

beforeAll(async () => {
  provider = await startOpenAIMock();
  stack = await startStandaloneStack({
    'llm.yaml': manifests(provider),
    'app-key.yaml': consumerSecret('sk-app-one'),
  });
}, SLOW);

afterAll(async () => {
  await stack?.stop();
  await provider?.close();
}, SLOW);

const ask = (apiKey: string) =>
  new OpenAI({ baseURL: `${stack.gatewayUrl}/v1`, apiKey, maxRetries: 0 }).chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'hi' }],
  });

test(
  "the OpenAI client works with the consumer's key and gets 401 without it",
  async () => {
    const reply = await ask('sk-app-one');
    expect(reply.choices).toHaveLength(1);
    const error = await ask('sk-not-a-key').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
  },
  SLOW,
);

test(
  'rotating the key in its Secret locks the old key out and lets the new one in, without a restart',
  async () => {
    await stack.writeManifest('app-key.yaml', consumerSecret('sk-app-two'));
    await waitFor(
      () =>
        ask('sk-app-one').then(
          () => false,
          (e: unknown) => e instanceof OpenAI.AuthenticationError,
        ),
      {
        what: 'the old key to be refused',
        timeoutMs: 20_000,
      },
    );
    const reply = await ask('sk-app-two');
    expect(reply.choices).toHaveLength(1);
  },
  SLOW,
);

test("docs/policies.md's manifests are all accepted and give the documented merge", async () => {
  const { snapshot, problems } = translateDocs(docsPageObjects('policies.md'));
  expect(problems).toEqual([]);
  const entries = snapshot.virtualHosts.flatMap((h) => h.routes);
  const orders = entries.find((e) => e.route.name === 'orders')?.policy;
  expect(orders?.authentication?.from).toBe('policy/default/api-keys');
  expect(orders?.authorization?.from).toBe('policy/default/shop-only');
  expect(orders?.rateLimits?.from).toBe('policy/default/limits');
  const llm = entries.find((e) => e.route.name === 'llm')?.policy;
  expect(llm?.authorization?.from).toBe('policy/default/interns-small-models');
  expect(llm?.observability).toEqual({ from: 'policy/default/trace-llm-content', recordContent: true });
});
