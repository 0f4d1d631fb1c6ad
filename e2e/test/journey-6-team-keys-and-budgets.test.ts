// Journey 6, "Give each team a key and a budget", followed with nothing but docs/ai.md: the two
// providers of "Two providers with fallback and prices", then "A key and a budget per team" (a
// Consumer per team with its key in a Secret, one Policy with tokens per minute and money per
// month per team), applied with kubectl to a real API server. The figures are shrunk so a test
// can run out of them (same manifest shape); clients are the official OpenAI SDK.
import { type MockProvider, startAnthropicMock, startOpenAIMock, waitFor } from '@tollgate/testkit';
import OpenAI from 'openai';
import { type JourneyCluster, startJourneyCluster } from '../src/journeys/cluster.ts';
import { type DocObject, docsObjects, find, toYaml } from '../src/journeys/docs.ts';

const SLOW = 20 * 60_000; // the first run on a new machine builds the binaries
const TEST = 60_000;

let journey: JourneyCluster;
let openaiMock: MockProvider;
let anthropicMock: MockProvider;
let teamObjects: DocObject[];
const keys = { search: 'sk-search-journey-1', checkout: 'sk-checkout-journey-1' };

interface QuotaSpec {
  rateLimits: Array<{ tokens: { limit: number } }>;
  budgets: Array<{ cost: { amount: string } }>;
}

/** The documented Policy with other figures: tokens per minute and USD per month per team. */
async function applyQuotas(tokensPerMinute: number, usdPerMonth: string): Promise<void> {
  const policy = structuredClone(find(teamObjects, 'Policy', 'team-quotas'));
  const spec = policy.spec as unknown as QuotaSpec;
  spec.rateLimits[0]!.tokens.limit = tokensPerMinute;
  spec.budgets[0]!.cost.amount = usdPerMonth;
  await journey.apply(toYaml([policy]));
}

const client = (apiKey: string) =>
  new OpenAI({ baseURL: `${journey.stack.gatewayUrl}/v1`, apiKey, maxRetries: 0 });
const hello = (apiKey: string, content = 'Hello') =>
  client(apiKey).chat.completions.create({ model: 'chat-default', messages: [{ role: 'user', content }] });

/** Calls until the gateway refuses (bounded); returns the refusal. */
async function callUntilRefused(apiKey: string): Promise<unknown> {
  for (let i = 0; i < 50; i++) {
    const error = await hello(apiKey).then(
      () => undefined,
      (e: unknown) => e,
    );
    if (error) return error;
  }
  throw new Error('50 calls and no refusal');
}

interface BudgetRow {
  budget: string;
  per: string;
  subject: string;
  unit: string;
  currency?: string;
  limit: number;
  spent: number;
  reserved: number;
  remaining: number;
}

beforeAll(async () => {
  [openaiMock, anthropicMock] = await Promise.all([
    startOpenAIMock({ apiKey: 'sk-journey-openai' }),
    startAnthropicMock({ apiKey: 'sk-ant-journey' }),
  ]);
  journey = await startJourneyCluster(['ai']);
  const providers = docsObjects('ai.md', 'Two providers with fallback and prices');
  find(providers, 'Secret', 'llm-keys').stringData = {
    openai: openaiMock.apiKey,
    anthropic: anthropicMock.apiKey,
  };
  find(providers, 'AIProvider', 'openai').spec!.baseURL = openaiMock.baseURL;
  find(providers, 'AIProvider', 'anthropic').spec!.baseURL = anthropicMock.baseURL;
  teamObjects = docsObjects('ai.md', 'A key and a budget per team');
  // "Replace the keys".
  find(teamObjects, 'Secret', 'team-search-key').stringData = { key: keys.search };
  find(teamObjects, 'Secret', 'team-checkout-key').stringData = { key: keys.checkout };
  await journey.apply(toYaml([...providers, ...teamObjects]));
  for (const name of ['search', 'checkout'])
    await journey.waitForCondition('consumer', 'ai', name, 'Accepted', (c) => c.status === 'True');
  await journey.waitForPolicyAccepted('ai', 'team-quotas');
  await waitFor(() => hello(keys.search).catch(() => undefined), {
    what: 'the team key to be served',
    timeoutMs: 20_000,
  });
}, SLOW);

afterAll(async () => {
  await journey?.stop();
  await Promise.all([openaiMock?.close(), anthropicMock?.close()]);
}, TEST);

test(
  "each team calls with its own key; a call without one is refused in OpenAI's format",
  async () => {
    const completion = await hello(keys.checkout);
    expect(completion.choices[0]!.message.content).toBe('Echo: Hello ☕ café');
    const anonymous = await hello('sk-not-a-team-key').catch((e: unknown) => e);
    expect(anonymous).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((anonymous as InstanceType<typeof OpenAI.APIError>).code).toBe('TG_ERR_AUTH_INVALID_KEY');
  },
  TEST,
);

test(
  'a team that has spent its month gets 429 insufficient_quota naming the budget; other teams go on',
  async () => {
    // 20 micro-dollars a month: a few "Hello"s at gpt-4o-mini's prices.
    await applyQuotas(100_000, '0.00002');
    await journey.waitForPolicyAccepted('ai', 'team-quotas');
    const refused = await waitFor(
      async () => {
        const error = await callUntilRefused(keys.search);
        return error instanceof OpenAI.RateLimitError ? error : undefined;
      },
      { what: 'the small budget to be enforced', timeoutMs: 20_000 },
    );
    expect(refused.status).toBe(429);
    expect(refused.code).toBe('TG_ERR_BUDGET_EXCEEDED');
    expect(refused.type).toBe('insufficient_quota');
    expect(refused.message).toMatch(
      /^429 budget "team-spend" of team search is spent for this month \(0\.0000\d+ USD spent, limit 0\.00002 USD\); it resets at \d{4}-\d\d-01T00:00:00\.000Z$/,
    );
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);

    // Per team: checkout still has its own month.
    expect((await hello(keys.checkout)).choices).toHaveLength(1);

    // Spend per team, as the admin port and the metrics show it.
    const { budgets } = await journey.dataplaneAdmin<{ budgets: BudgetRow[] }>('/budgets');
    const search = budgets.find((b) => b.budget.endsWith('team-spend') && b.subject === 'search');
    const checkout = budgets.find((b) => b.budget.endsWith('team-spend') && b.subject === 'checkout');
    expect(search).toMatchObject({ per: 'team', unit: 'cost', currency: 'USD', limit: 20 });
    expect(search!.spent).toBeGreaterThanOrEqual(20);
    expect(search!.remaining).toBe(0);
    expect(checkout!.spent).toBeGreaterThan(0);
    expect(checkout!.remaining).toBeGreaterThan(0);
    const metrics = await journey.metrics();
    for (const team of ['search', 'checkout'])
      expect(metrics).toMatch(
        new RegExp(
          `tollgate_consumer_cost_micros_total\\{[^}]*consumer="ai/${team}"[^}]*gen_ai_request_model="gpt-4o-mini"[^}]*\\} [1-9]`,
        ),
      );
  },
  TEST,
);

test(
  'a team past its tokens per minute gets 429 rate_limit with retry-after',
  async () => {
    // 40 tokens a minute (a "Hello" is about 18); the month back at $500.
    await applyQuotas(40, '500.00');
    const refused = await waitFor(
      async () => {
        const error = await callUntilRefused(keys.checkout);
        return error instanceof OpenAI.RateLimitError && error.code === 'TG_ERR_RATE_LIMITED'
          ? error
          : undefined;
      },
      { what: 'the token limit to be enforced', timeoutMs: 20_000 },
    );
    expect(refused.status).toBe(429);
    expect(refused.message).toMatch(
      /^429 rate limit "team-tokens" \(40 tokens per 1m\) is used up for team "checkout"; retry after \d+ s$/,
    );
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    // The search team's minute is its own, and its month has room again.
    expect((await hello(keys.search)).choices).toHaveLength(1);
  },
  TEST,
);

test(
  'rotating a key is a Secret update: the old key is refused and the new one accepted within 2 s',
  async () => {
    await applyQuotas(100_000, '500.00');
    await waitFor(() => hello(keys.search).catch(() => undefined), {
      what: 'search served',
      timeoutMs: 20_000,
    });
    const rotated = 'sk-search-journey-2';
    // The documented command: the Secret written by kubectl, then applied over the old one.
    const secret = await journey.cluster.kubectlOk([
      '-n',
      'ai',
      'create',
      'secret',
      'generic',
      'team-search-key',
      `--from-literal=key=${rotated}`,
      '--dry-run=client',
      '-o',
      'yaml',
    ]);
    await journey.apply(secret);
    const stored = performance.now();
    await waitFor(
      async () => {
        const old = await hello(keys.search).catch((e: unknown) => e);
        return old instanceof OpenAI.AuthenticationError;
      },
      { what: 'the old key to be refused', timeoutMs: 10_000, intervalMs: 50 },
    );
    const refusedAfter = performance.now() - stored;
    const completion = await hello(rotated);
    expect(completion.choices[0]!.message.content).toBe('Echo: Hello ☕ café');
    process.stdout.write(
      `key rotation: old key refused ${refusedAfter.toFixed(0)} ms after the Secret update\n`,
    );
    expect(refusedAfter).toBeLessThan(2_000);
  },
  TEST,
);
