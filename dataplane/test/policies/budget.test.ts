// Budgets end to end in one process: manifests → the real translator → a real data plane in front
// of a mock OpenAI provider, called with the official client. Each scenario is a Consumer with its
// own budget Policy (attached to the Consumer), so the scenarios do not share counters.
import Anthropic from '@anthropic-ai/sdk';
import { type MockProvider, startOpenAIMock, waitFor } from '@tollgate/testkit';
import OpenAI from 'openai';
import {
  type Gateway,
  mockProviderObjects,
  providerObjects,
  routeObject,
  sample,
  startGateway,
} from '../ai/helpers.ts';

const ns = 'ai';
const BURST_LIMIT = 1000;
const MAX_TOKENS = 20;

const consumer = (name: string, team?: string): unknown[] => [
  {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: `${name}-key`, namespace: ns },
    stringData: { key: `sk-${name}` },
  },
  {
    apiVersion: 'tollgate.dev/v1alpha1',
    kind: 'Consumer',
    metadata: { name, namespace: ns },
    spec: { ...(team ? { team } : {}), apiKeys: [{ secretRef: { name: `${name}-key`, key: 'key' } }] },
  },
];
const budgetFor = (name: string, budgets: unknown[]) => ({
  apiVersion: 'tollgate.dev/v1alpha1',
  kind: 'Policy',
  metadata: { name: `${name}-budget`, namespace: ns, creationTimestamp: '2026-01-01T00:00:00Z' },
  spec: { targetRefs: [{ kind: 'Consumer', name }], budgets },
});

let provider: MockProvider;
let gateway: Gateway;

function manifests(): unknown[] {
  return [
    ...mockProviderObjects('llm', 'openai', provider, {
      models: [
        { name: 'gpt-4o-mini', pricing: { inputPerMillion: '1.00', outputPerMillion: '2.00' } },
        { name: 'broken' },
      ],
    }),
    ...providerObjects({
      name: 'dead',
      apiKey: 'sk-dead',
      spec: { type: 'openai', baseURL: 'http://127.0.0.1:1/v1', models: [{ name: 'unreachable' }] },
    }),
    routeObject('llm', [
      { matches: [{ model: { value: 'unreachable' } }], backendRefs: [{ kind: 'AIProvider', name: 'dead' }] },
      { backendRefs: [{ kind: 'AIProvider', name: 'llm' }] },
    ]),
    {
      apiVersion: 'tollgate.dev/v1alpha1',
      kind: 'Policy',
      metadata: { name: 'keys', namespace: ns, creationTimestamp: '2026-01-01T00:00:00Z' },
      spec: { targetRefs: [{ group: '', kind: 'Namespace', name: ns }], authentication: { apiKey: {} } },
    },
    ...consumer('burst'),
    budgetFor('burst', [{ name: 'burst-tokens', tokens: { limit: BURST_LIMIT }, period: 'day' }]),
    ...consumer('streamer'),
    budgetFor('streamer', [{ name: 'streamer-output', tokens: { limit: 10, count: 'output' } }]),
    ...consumer('watched'),
    budgetFor('watched', [{ name: 'watched-tokens', tokens: { limit: 10 }, mode: 'shadow' }]),
    ...consumer('payer'),
    budgetFor('payer', [
      { name: 'payer-money', cost: { amount: '0.0001', currency: 'USD' }, timeZone: 'Europe/Paris' },
    ]),
    ...consumer('claude-user'),
    budgetFor('claude-user', [{ name: 'claude-output', tokens: { limit: 10, count: 'output' } }]),
    ...consumer('crew-1', 'crew'),
    ...consumer('crew-2', 'crew'),
    {
      apiVersion: 'tollgate.dev/v1alpha1',
      kind: 'Policy',
      metadata: { name: 'crew-budget', namespace: ns, creationTimestamp: '2026-01-01T00:00:00Z' },
      spec: {
        targetRefs: [
          { kind: 'Consumer', name: 'crew-1' },
          { kind: 'Consumer', name: 'crew-2' },
        ],
        budgets: [{ name: 'crew-tokens', tokens: { limit: 30 }, per: 'team', period: 'week' }],
      },
    },
    ...consumer('lean'),
    budgetFor('lean', [{ name: 'lean-output', tokens: { limit: 40, count: 'output' } }]),
    ...consumer('unlucky'),
    budgetFor('unlucky', [{ name: 'unlucky-tokens', tokens: { limit: 1000 } }]),
  ];
}

beforeAll(async () => {
  // Events in separate writes, as real providers send them: a stream can be cut between two.
  provider = await startOpenAIMock({ framing: { splitWrites: true } });
  gateway = await startGateway(manifests());
});

afterAll(async () => {
  await gateway?.close();
  await provider?.close();
});

const client = (name: string) =>
  new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: `sk-${name}`, maxRetries: 0 });

const ask = (name: string, extra: Partial<OpenAI.ChatCompletionCreateParamsNonStreaming> = {}) =>
  client(name).chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'hi' }],
    max_tokens: MAX_TOKENS,
    ...extra,
  });

interface BudgetRow {
  budget: string;
  subject: string;
  unit: string;
  currency?: string;
  limit: number;
  spent: number;
  reserved: number;
  remaining: number;
  windowEnd: string;
}

async function budgetRow(consumerName: string): Promise<BudgetRow | undefined> {
  const body = (await (await fetch(`${gateway.adminUrl}/budgets`)).json()) as { budgets: BudgetRow[] };
  return body.budgets.find((b) => b.subject === `consumer/${ns}/${consumerName}`);
}

test('200 concurrent callers never spend more than the budget plus one request, and use it up', async () => {
  let spent = 0;
  let refused = 0;
  let largest = 0;
  const one = async (): Promise<boolean> => {
    try {
      const reply = await ask('burst');
      spent += reply.usage!.total_tokens;
      largest = Math.max(largest, reply.usage!.prompt_tokens + MAX_TOKENS);
      return true;
    } catch (error) {
      if (!(error instanceof OpenAI.RateLimitError)) throw error;
      refused++;
      return false;
    }
  };
  await Promise.all(Array.from({ length: 200 }, one));
  // Then one caller at a time until the budget refuses: whatever room was left is used.
  for (let i = 0; i < 200 && (await one()); i++);
  expect(refused).toBeGreaterThan(0);
  expect(spent).toBeLessThanOrEqual(BURST_LIMIT + largest);
  expect(spent).toBeGreaterThanOrEqual(BURST_LIMIT);
  const row = await budgetRow('burst');
  expect(row).toMatchObject({
    budget: `policy/${ns}/burst-budget/burst-tokens`,
    unit: 'tokens',
    limit: BURST_LIMIT,
  });
  expect(row?.spent).toBe(spent);
  expect(row?.reserved).toBe(0);
  expect(row?.remaining).toBe(0);
  // A day budget in UTC ends at the next UTC midnight.
  const end = new Date(row!.windowEnd);
  expect(end.getUTCHours()).toBe(0);
  expect(end.getTime() - Date.now()).toBeLessThanOrEqual(24 * 3600 * 1000);
});

test('an exhausted budget answers 429 insufficient_quota naming the budget, in OpenAI format', async () => {
  const res = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: 'Bearer sk-burst', 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
  });
  expect(res.status).toBe(429);
  expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
  const body = (await res.json()) as { error: { type: string; code: string; message: string } };
  expect(body.error.type).toBe('insufficient_quota');
  expect(body.error.code).toBe('TG_ERR_BUDGET_EXCEEDED');
  expect(body.error.message).toMatch(/budget "burst-tokens" of consumer ai\/burst is spent for this day/);
});

test('a stream that runs past its budget is cut off with an error event, and what it used is metered', async () => {
  const long = Array.from({ length: 60 }, (_, i) => `word${i}`).join(' ');
  const stream = await client('streamer').chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: long }],
    stream: true,
  });
  let text = '';
  const error = await (async () => {
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
  })().catch((e: unknown) => e);
  expect(error).toBeInstanceOf(OpenAI.APIError);
  expect((error as Error).message).toMatch(/budget "streamer-output".*cut/);
  expect(text.length).toBeGreaterThan(0);
  expect(text).not.toContain('word59');
  const row = await budgetRow('streamer');
  expect(row?.reserved).toBe(0);
  expect(row?.spent).toBeGreaterThanOrEqual(10);
  // Spent: the next request is refused before it reaches the provider.
  const next = await ask('streamer').catch((e: unknown) => e);
  expect(next).toBeInstanceOf(OpenAI.RateLimitError);
});

test('a shadow budget never refuses, but reports in a header and a metric', async () => {
  for (let i = 0; i < 3; i++) await ask('watched');
  const res = await client('watched')
    .chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 5,
    })
    .withResponse();
  expect(res.response.headers.get('x-tollgate-budget-shadow-exceeded')).toBe('watched-tokens');
  const row = await budgetRow('watched');
  expect(row!.spent).toBeGreaterThan(row!.limit);
  const metrics = await gateway.metrics();
  expect(
    sample(metrics, 'tollgate_budget_exceeded_total', {
      budget: `${ns}/watched-budget/watched-tokens`,
      per: 'consumer',
      consumer: `${ns}/watched`,
      mode: 'shadow',
    }),
  ).toBeGreaterThanOrEqual(3);
});

test('a money budget counts micro-units at the model prices and refuses once spent', async () => {
  let served = 0;
  let micros = 0;
  for (let i = 0; i < 20; i++) {
    const result = await ask('payer')
      .withResponse()
      .catch((e: unknown) => e);
    if (result instanceof OpenAI.RateLimitError) break;
    const { data } = result as Awaited<ReturnType<ReturnType<typeof ask>['withResponse']>>;
    micros += data.usage!.prompt_tokens * 1 + data.usage!.completion_tokens * 2;
    served++;
  }
  expect(served).toBeGreaterThan(1);
  expect(served).toBeLessThan(20);
  const row = await budgetRow('payer');
  expect(row).toMatchObject({ unit: 'cost', currency: 'USD', limit: 100, spent: micros, reserved: 0 });
  expect(micros).toBeGreaterThanOrEqual(100);
  // The period is a calendar month in Paris: it ends at local midnight (22:00 or 23:00 UTC).
  expect([22, 23]).toContain(new Date(row!.windowEnd).getUTCHours());
  const metrics = await gateway.metrics();
  const labels = {
    budget: `${ns}/payer-budget/payer-money`,
    per: 'consumer',
    consumer: `${ns}/payer`,
    team: '',
    tenant: '',
    unit: 'USD',
  };
  expect(sample(metrics, 'tollgate_budget_spent', labels)).toBe(micros);
  expect(sample(metrics, 'tollgate_budget_limit', labels)).toBe(100);
  // The refused request saw the budget spent.
  expect(
    sample(metrics, 'tollgate_budget_used_ratio', {
      budget: `${ns}/payer-budget/payer-money`,
      per: 'consumer',
      consumer: `${ns}/payer`,
    }),
  ).toBe(1);
});

test('a request that fails upstream releases its reservation and spends nothing', async () => {
  const error = await client('unlucky')
    .chat.completions.create({
      model: 'unreachable',
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 50,
    })
    .catch((e: unknown) => e);
  expect(error).toBeInstanceOf(OpenAI.APIError);
  const row = await budgetRow('unlucky');
  expect(row).toMatchObject({ spent: 0, reserved: 0, remaining: 1000 });
});

test('an Anthropic client sees its stream cut with an error event, then a 429 in its own format', async () => {
  const claude = new Anthropic({ baseURL: gateway.url, apiKey: 'sk-claude-user', maxRetries: 0 });
  const long = Array.from({ length: 60 }, (_, i) => `word${i}`).join(' ');
  const stream = await claude.messages.create({
    model: 'gpt-4o-mini',
    max_tokens: 4096,
    messages: [{ role: 'user', content: long }],
    stream: true,
  });
  let text = '';
  const error = await (async () => {
    for await (const event of stream) {
      if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
    }
  })().catch((e: unknown) => e);
  expect(error).toBeInstanceOf(Anthropic.APIError);
  expect((error as Error).message).toMatch(/claude-output.*cut/);
  expect(text).not.toContain('word59');
  const refused = await claude.messages
    .create({ model: 'gpt-4o-mini', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] })
    .catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(Anthropic.RateLimitError);
  expect((refused as InstanceType<typeof Anthropic.RateLimitError>).error).toMatchObject({
    type: 'error',
    error: { type: 'rate_limit_error' },
  });
});

test('a per-team budget is shared by the consumers of the team', async () => {
  const first = await ask('crew-1', { max_tokens: 5 });
  const second = await ask('crew-2', { max_tokens: 5 });
  const spent = first.usage!.total_tokens + second.usage!.total_tokens;
  expect(spent).toBeGreaterThanOrEqual(30);
  for (const member of ['crew-1', 'crew-2']) {
    expect(await ask(member, { max_tokens: 5 }).catch((e: unknown) => e)).toBeInstanceOf(
      OpenAI.RateLimitError,
    );
  }
  const body = (await (await fetch(`${gateway.adminUrl}/budgets`)).json()) as { budgets: BudgetRow[] };
  const crew = body.budgets.filter((b) => b.budget === `policy/${ns}/crew-budget/crew-tokens`);
  expect(crew).toEqual([expect.objectContaining({ subject: 'crew', spent, limit: 30 })]);
});

test('a request granted only what is left asks the provider for no more output than that, whichever API it speaks', async () => {
  // Once the last answer has settled (the client may see its end first).
  const room = async () =>
    waitFor(
      async () => {
        const row = await budgetRow('lean');
        return row?.reserved === 0 ? row.remaining : undefined;
      },
      { what: 'the lean budget settled' },
    );
  const upstreamLimit = () => {
    const body = provider.requests.at(-1)?.body ?? {};
    return body.max_completion_tokens ?? body.max_tokens;
  };
  // Fits whole: sent as asked.
  await ask('lean', { max_tokens: 20 });
  expect(upstreamLimit()).toBe(20);
  // A stream with no limit of its own (the model has none either): given one, the room left.
  const left = await room();
  expect(left).toBeLessThan(40);
  const stream = await client('lean').chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'hi' }],
    stream: true,
  });
  for await (const _ of stream);
  expect(provider.requests.at(-1)?.body?.max_completion_tokens).toBe(left);
  // An Anthropic client's max_tokens, translated for the provider, lowered the same way.
  const stillLeft = await room();
  expect(stillLeft).toBeLessThan(left);
  const claude = new Anthropic({ baseURL: gateway.url, apiKey: 'sk-lean', maxRetries: 0 });
  await claude.messages.create({
    model: 'gpt-4o-mini',
    max_tokens: 4096,
    messages: [{ role: 'user', content: 'hi' }],
  });
  expect(upstreamLimit()).toBe(stillLeft);
});
