// The budget guard over an in-process store: how much output a partial grant leaves the provider
// to produce (token and money budgets), and the refusal a caller gets while another request holds
// the last of a budget.
import type { BudgetIR } from '@tollgate/snapshot';
import {
  type BudgetHold,
  BudgetService,
  compileBudgetGuard,
  LocalBudgetStore,
  type SpendDemand,
} from '../../src/policies/index.ts';

const budget = (extra: Partial<BudgetIR>): BudgetIR => ({
  name: 'b',
  unit: 'tokens',
  limit: 50,
  period: 'day',
  timeZone: 'UTC',
  per: 'consumer',
  mode: 'enforce',
  failureMode: 'open',
  ...extra,
});

/** A prompt of `input` tokens and at most `maxOutput` out; a token costs 2 micro-USD in, 10 out. */
const demand = (input: number, maxOutput: number): SpendDemand => ({
  inputTokens: input,
  maxOutputTokens: maxOutput,
  costMicros: (currency, i, o) => (currency === 'USD' ? i * 2 + o * 10 : 0),
});

const caller = {
  id: 'consumer/ns/a',
  namespace: 'ns',
  name: 'a',
  team: undefined,
  tenant: undefined,
  disabled: false,
};

function guardOf(b: BudgetIR) {
  return compileBudgetGuard({ from: 'policy/ns/p', budgets: [b] }, new BudgetService(new LocalBudgetStore()));
}

async function hold(guard: ReturnType<typeof guardOf>, d: SpendDemand): Promise<BudgetHold> {
  const outcome = await guard.reserve(caller, d);
  if ('code' in outcome) throw new Error(`refused: ${outcome.code}`);
  return outcome;
}

test('a request that fits whole is sent as asked', async () => {
  const h = await hold(guardOf(budget({})), demand(10, 20));
  expect([h.partial, h.outputCap]).toEqual([false, undefined]);
});

test('a partial grant of a total-tokens budget leaves for output what the prompt does not use', async () => {
  const guard = guardOf(budget({ count: 'total' }));
  await hold(guard, demand(10, 20));
  const h = await hold(guard, demand(10, 100));
  expect([h.partial, h.outputCap]).toEqual([true, 10]);
});

test('a partial grant of a money budget leaves the output the money left can buy at the dearest price', async () => {
  const guard = guardOf(budget({ unit: 'cost', currency: 'USD', limit: 1000 }));
  // 10 prompt tokens (20) and 98 output tokens (980) fit in 1000; a 99th would not.
  const h = await hold(guard, demand(10, 200));
  expect([h.partial, h.outputCap]).toEqual([true, 98]);
});

test('an input-only budget does not cap the output', async () => {
  const guard = guardOf(budget({ count: 'input', limit: 15 }));
  await hold(guard, demand(10, 5));
  const h = await hold(guard, demand(10, 5));
  expect([h.partial, h.outputCap]).toEqual([true, undefined]);
});

test('when the prompt alone takes what is left, the provider is asked for a single token', async () => {
  const guard = guardOf(budget({}));
  await hold(guard, demand(10, 35));
  const h = await hold(guard, demand(10, 20));
  expect(h.outputCap).toBe(1);
});

test('while a partial grant is in flight, the next request that would only get part waits, told to retry in a second', async () => {
  const guard = guardOf(budget({}));
  const first = await hold(guard, demand(10, 20));
  await hold(guard, demand(10, 20));
  first.settle({ inputTokens: 10, outputTokens: 5 });
  await new Promise((resolve) => setImmediate(resolve));
  const refused = await guard.reserve(caller, demand(10, 20));
  expect(refused).toMatchObject({
    code: 'TG_ERR_BUDGET_EXCEEDED',
    headers: { 'retry-after': '1' },
    params: { detail: expect.stringMatching(/the 15 tokens left waits for a request in flight/) },
  });
});
