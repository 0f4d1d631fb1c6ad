// Policies through the real standalone stack: a Consumer whose key is in a Secret and a Policy
// requiring API keys, served by the controller and data-plane processes. The official OpenAI
// client works with the consumer's key and gets 401 without it; rotating the key in the Secret
// file locks the old key out without a restart.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { type MockProvider, startOpenAIMock, waitFor } from '@tollgate/testkit';
import OpenAI from 'openai';
import { parseAllDocuments } from 'yaml';
import { translate } from '../../controller/src/translate/index.ts';
import { type StandaloneStack, startStandaloneStack } from '../src/index.ts';

const SLOW = 60_000;

const consumerSecret = (key: string) => `apiVersion: v1
kind: Secret
metadata: { name: app-key, namespace: default }
stringData: { key: ${key} }
`;

function manifests(provider: MockProvider): string {
  return `apiVersion: v1
kind: Secret
metadata: { name: llm-key, namespace: default }
stringData: { api-key: ${provider.apiKey} }
---
apiVersion: tollgate.dev/v1alpha1
kind: AIProvider
metadata: { name: llm, namespace: default }
spec:
  type: openai
  baseURL: ${provider.baseURL}
  auth: { secretRef: { name: llm-key, key: api-key } }
  models: [{ name: gpt-4o-mini }]
---
apiVersion: tollgate.dev/v1alpha1
kind: Route
metadata: { name: llm, namespace: default }
spec:
  rules:
    - backendRefs: [{ kind: AIProvider, name: llm }]
---
apiVersion: tollgate.dev/v1alpha1
kind: Consumer
metadata: { name: app, namespace: default }
spec:
  team: shop
  apiKeys: [{ secretRef: { name: app-key, key: key } }]
---
apiVersion: tollgate.dev/v1alpha1
kind: Policy
metadata: { name: api-keys, namespace: default }
spec:
  targetRefs: [{ group: "", kind: Namespace, name: default }]
  authentication: { apiKey: { headers: [authorization, x-api-key, api-key] } }
`;
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
  const markdown = await readFile(path.resolve(import.meta.dirname, '../../docs/policies.md'), 'utf8');
  const objects = [...markdown.matchAll(/```yaml\n([\s\S]*?)```/g)].flatMap((m) =>
    parseAllDocuments(m[1]!).map((doc) => doc.toJS() as unknown),
  );
  const { snapshot, statuses } = translate(objects);
  const problems = statuses.flatMap((s) =>
    s.conditions.filter((c) => c.status !== 'True').map((c) => `${s.ref.kind} ${s.ref.name}: ${c.message}`),
  );
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
