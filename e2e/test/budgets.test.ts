// Budgets through real processes: a controller (file source) and data planes started as the chart
// starts them, in front of a mock OpenAI provider, called by 200 concurrent OpenAI clients. With
// one data plane (in-process counters) and with two sharing a real Redis, the tokens served never
// exceed the budget by more than one request's maximum, and the budget is used up.
import {
  freePort,
  type MockProvider,
  type StartedProcess,
  type StartedRedis,
  startOpenAIMock,
  startRedis,
  waitFor,
} from '@tollgate/testkit';
import OpenAI from 'openai';
import { startDataplaneProcess } from '../src/dataplane-process.ts';
import { type StandaloneStack, startStandaloneStack } from '../src/index.ts';
import {
  aiRouteManifests,
  apiKeysPolicy,
  consumerManifest,
  keySecret,
  yamlStream,
} from '../src/policy-stack.ts';

const SLOW = 120_000;
const BUDGET = 1500;
const MAX_TOKENS = 20;

const consumer = (name: string) =>
  yamlStream(
    keySecret(`${name}-key`, `sk-${name}`),
    consumerManifest(name, `${name}-key`),
    `apiVersion: tollgate.dev/v1alpha1
kind: Policy
metadata: { name: ${name}-budget, namespace: default }
spec:
  targetRefs: [{ group: tollgate.dev, kind: Consumer, name: ${name} }]
  budgets:
    - name: daily-tokens
      tokens: { limit: ${BUDGET} }
      period: day
      timeZone: Europe/Paris
`,
  );

function manifests(provider: MockProvider): string {
  return yamlStream(aiRouteManifests(provider), apiKeysPolicy(), consumer('solo'), consumer('shared'));
}

let provider: MockProvider;
let redis: StartedRedis;
let stack: StandaloneStack;
const shared: Array<{ process: StartedProcess; url: string; adminUrl: string }> = [];

beforeAll(async () => {
  [provider, redis] = await Promise.all([startOpenAIMock(), startRedis()]);
  stack = await startStandaloneStack({ 'llm.yaml': manifests(provider) });
  for (const nodeId of ['budget-a', 'budget-b']) {
    const [gatewayPort, adminPort] = await Promise.all([freePort(), freePort()]);
    const process = await startDataplaneProcess({
      gatewayPort,
      adminPort,
      grpcPort: stack.grpcPort,
      nodeId,
      args: ['--redis', redis.url],
    });
    shared.push({
      process,
      url: `http://127.0.0.1:${gatewayPort}`,
      adminUrl: `http://127.0.0.1:${adminPort}`,
    });
  }
}, SLOW);

afterAll(async () => {
  await Promise.all(shared.map((d) => d.process.stop()));
  await stack?.stop();
  await Promise.all([provider?.close(), redis?.stop()]);
}, SLOW);

/**
 * 200 concurrent callers, then one at a time until refused; returns the tokens served and the
 * largest request maximum. `settled` waits until no reservation is outstanding: a request settles
 * just after its answer, and while a partial grant is unsettled the next caller is asked to retry
 * (which is not the budget running out).
 */
async function spend(
  gatewayUrls: string[],
  apiKey: string,
  settled: () => Promise<unknown>,
): Promise<{ spent: number; largest: number; refused: number }> {
  const clients = gatewayUrls.map((url) => new OpenAI({ baseURL: `${url}/v1`, apiKey, maxRetries: 0 }));
  let spent = 0;
  let largest = 0;
  let refused = 0;
  const one = async (i: number): Promise<boolean> => {
    try {
      const reply = await clients[i % clients.length]!.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'hi' }],
        max_tokens: MAX_TOKENS,
      });
      spent += reply.usage!.total_tokens;
      largest = Math.max(largest, reply.usage!.prompt_tokens + MAX_TOKENS);
      return true;
    } catch (error) {
      if (!(error instanceof OpenAI.RateLimitError)) throw error;
      expect(error.type).toBe('insufficient_quota');
      refused++;
      return false;
    }
  };
  await Promise.all(Array.from({ length: 200 }, (_, i) => one(i)));
  for (let i = 0; i < 400; i++) {
    await settled();
    if (!(await one(i))) break;
  }
  return { spent, largest, refused };
}

interface BudgetRow {
  subject: string;
  spent: number;
  reserved: number;
  limit: number;
}

/** The budget's row once no reservation is left (the last settlement may still be on its way). */
async function row(adminUrl: string, subject: string): Promise<BudgetRow | undefined> {
  return waitFor(
    async () => {
      const body = (await (await fetch(`${adminUrl}/budgets`)).json()) as { budgets: BudgetRow[] };
      const found = body.budgets.find((b) => b.subject === subject);
      return found?.reserved === 0 ? found : undefined;
    },
    { what: `the budget of ${subject} settled`, timeoutMs: 10_000 },
  );
}

test(
  '200 concurrent callers on one data plane never spend more than the budget plus one request',
  async () => {
    const { spent, largest, refused } = await spend([stack.gatewayUrl], 'sk-solo', () =>
      row(stack.dataplaneAdminUrl, 'consumer/default/solo'),
    );
    expect(refused).toBeGreaterThan(0);
    expect(spent).toBeGreaterThanOrEqual(BUDGET);
    expect(spent).toBeLessThanOrEqual(BUDGET + largest);
    expect(await row(stack.dataplaneAdminUrl, 'consumer/default/solo')).toMatchObject({
      spent,
      reserved: 0,
      limit: BUDGET,
    });
  },
  SLOW,
);

test(
  '200 concurrent callers across two data planes sharing Redis never spend more than the budget plus one request',
  async () => {
    const { spent, largest, refused } = await spend(
      shared.map((d) => d.url),
      'sk-shared',
      () => row(shared[0]!.adminUrl, 'consumer/default/shared'),
    );
    expect(refused).toBeGreaterThan(0);
    expect(spent).toBeGreaterThanOrEqual(BUDGET);
    expect(spent).toBeLessThanOrEqual(BUDGET + largest);
    // Both data planes report the one shared counter.
    for (const d of shared) {
      expect(await row(d.adminUrl, 'consumer/default/shared')).toMatchObject({
        spent,
        reserved: 0,
        limit: BUDGET,
      });
    }
  },
  SLOW,
);
