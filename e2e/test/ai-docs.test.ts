// docs/ai.md's manifests work as-is: the real controller accepts every object, and the data plane
// serves the documented behaviour (fallback from OpenAI to Anthropic, prices, model routing) with
// the providers' base URLs pointed at mock providers — the only change made to them.
import { type MockProvider, startAnthropicMock, startOpenAIMock, waitFor } from '@tollgate/testkit';
import OpenAI from 'openai';
import { request } from 'undici';
import { stringify } from 'yaml';
import { type StandaloneStack, startStandaloneStack } from '../src/index.ts';
import { docsYaml, yamlObjects } from '../src/journeys/docs.ts';

const SLOW = 60_000;

let openaiMock: MockProvider;
let anthropicMock: MockProvider;
let stack: StandaloneStack;

interface Manifest {
  kind: string;
  spec: { type?: string; baseURL?: string };
}

/** The last model request (health probes, GETs, interleave with them). */
function lastPost(mock: MockProvider): MockProvider['requests'][number] {
  return mock.requests.filter((r) => r.method === 'POST').at(-1)!;
}

async function docsManifests(): Promise<Manifest[]> {
  // This section's manifests only: later sections (keys per team) add authentication to the Route.
  return yamlObjects(docsYaml('ai.md', 'Two providers with fallback and prices')) as unknown as Manifest[];
}

beforeAll(async () => {
  openaiMock = await startOpenAIMock({ apiKey: 'sk-REPLACE-ME' });
  anthropicMock = await startAnthropicMock({ apiKey: 'sk-ant-REPLACE-ME' });
  const objects = await docsManifests();
  for (const object of objects) {
    if (object.kind !== 'AIProvider') continue;
    object.spec.baseURL = object.spec.type === 'anthropic' ? anthropicMock.baseURL : openaiMock.baseURL;
  }
  stack = await startStandaloneStack({ 'ai.yaml': objects.map((o) => stringify(o)).join('---\n') });
}, SLOW);

afterAll(async () => {
  await stack?.stop();
  await openaiMock?.close();
  await anthropicMock?.close();
}, SLOW);

test(
  'the controller accepts every object of the documented manifests',
  async () => {
    const objects = await docsManifests();
    expect(objects.map((o) => o.kind).sort()).toEqual(['AIProvider', 'AIProvider', 'Route', 'Secret']);
    await waitFor(
      async () => {
        const status = (await (await request(`${stack.controllerAdminUrl}/status`)).body.json()) as {
          objects: Array<{ ref: { kind: string }; conditions: Array<{ status: string }> }>;
        };
        const ours = status.objects.filter((o) => o.ref.kind === 'AIProvider' || o.ref.kind === 'Route');
        return ours.length === 3 && ours.every((o) => o.conditions.every((c) => c.status === 'True'));
      },
      { what: 'every documented object accepted', timeoutMs: 10_000 },
    );
  },
  SLOW,
);

test(
  'the documented fallback: OpenAI serves "chat-default" until it is rate limited, then Anthropic does, priced per the tables',
  async () => {
    const client = new OpenAI({ baseURL: `${stack.gatewayUrl}/v1`, apiKey: 'unused', maxRetries: 0 });
    const first = await client.chat.completions
      .create({ model: 'chat-default', messages: [{ role: 'user', content: 'Hello' }] })
      .withResponse();
    expect(lastPost(openaiMock).body!.model).toBe('gpt-4o-mini');
    const viaOpenAI = openaiMock.reported.at(-1)!;
    // gpt-4o-mini: 0.15 / 0.60 / cached 0.075 USD per million; micro-dollars = tokens × price (prices ×1000 here).
    const openaiCost = Math.round(
      ((viaOpenAI.inputTokens - viaOpenAI.cachedInputTokens) * 150 +
        viaOpenAI.cachedInputTokens * 75 +
        viaOpenAI.outputTokens * 600) /
        1000,
    );
    expect(first.response.headers.get('x-tollgate-usage')).toContain(
      `cost_micros=${openaiCost}; currency=USD`,
    );

    openaiMock.enqueue({ kind: 'status', status: 429, retryAfterSeconds: 30 });
    const second = await client.chat.completions
      .create({ model: 'chat-default', messages: [{ role: 'user', content: 'Hello' }] })
      .withResponse();
    expect(second.data.choices[0]!.message.content).toBe('Echo: Hello ☕ café');
    expect(lastPost(anthropicMock).body!.model).toBe('claude-haiku-4-5');
    expect(lastPost(anthropicMock).body!.max_tokens).toBe(8192);
    const viaAnthropic = anthropicMock.reported.at(-1)!;
    const plain = viaAnthropic.inputTokens - viaAnthropic.cachedInputTokens - viaAnthropic.cacheWriteTokens;
    // claude-haiku-4-5: 1 / 5 / cached 0.10 / cache write 1.25 USD per million (prices ×100 here).
    const anthropicCost = Math.round(
      (plain * 100 +
        viaAnthropic.cachedInputTokens * 10 +
        viaAnthropic.cacheWriteTokens * 125 +
        viaAnthropic.outputTokens * 500) /
        100,
    );
    expect(second.response.headers.get('x-tollgate-usage')).toContain(
      `cost_micros=${anthropicCost}; currency=USD`,
    );

    // The Glob rule sends gpt-4o* to OpenAI as asked; a model nobody lists is a 404.
    const asked = anthropicMock.requests.length;
    const third = await client.chat.completions
      .create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] })
      .catch((e: unknown) => e);
    // OpenAI is resting after its 429, and it is the rule's only backend: 429, without asking anyone.
    expect((third as InstanceType<typeof OpenAI.APIError>).status).toBe(429);
    expect(anthropicMock.requests.length).toBe(asked);
    const unknown = await client.chat.completions
      .create({ model: 'gpt-4.5', messages: [{ role: 'user', content: 'Hi' }] })
      .catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(OpenAI.NotFoundError);
  },
  SLOW,
);

test(
  "the documented health check probes OpenAI's model list with its key; the admin port shows the state",
  async () => {
    const probe = await waitFor(() => openaiMock.requests.find((r) => r.method === 'GET'), {
      what: 'a health probe',
    });
    expect(new URL(probe.url, 'http://x').pathname).toBe('/v1/models');
    expect(probe.headers.authorization).toBe('Bearer sk-REPLACE-ME');
    const health = await waitFor(
      async () => {
        const body = (await (await request(`${stack.dataplaneAdminUrl}/ai_providers`)).body.json()) as {
          providers: Array<{ provider: string; healthy: boolean; lastProbeAt?: string }>;
        };
        return body.providers.find((p) => p.provider === 'ai/openai' && p.lastProbeAt);
      },
      { what: 'the probe result on /ai_providers' },
    );
    expect(health.healthy).toBe(true);
  },
  SLOW,
);
