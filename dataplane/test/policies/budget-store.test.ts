// One behaviour table, both BudgetStore implementations (in process and Redis), plus the calendar
// periods budgets count in and a data plane whose budget store fails (open or closed).
import { type MockProvider, type StartedRedis, startOpenAIMock, startRedis } from '@tollgate/testkit';
import OpenAI from 'openai';
import {
  type BudgetLine,
  type BudgetStore,
  LocalBudgetStore,
  periodWindow,
} from '../../src/policies/index.ts';
import { RedisBudgetStore } from '../../src/policies/redis.ts';
import { type Gateway, mockProviderObjects, routeObject, startGateway } from '../ai/helpers.ts';

let redis: StartedRedis;
const opened: BudgetStore[] = [];
let prefixes = 0;

beforeAll(async () => {
  redis = await startRedis();
});

afterAll(async () => {
  await Promise.all(opened.map((s) => s.close?.()));
  await redis?.stop();
});

const stores: Array<[string, () => BudgetStore]> = [
  ['local', () => new LocalBudgetStore()],
  [
    'redis',
    () => {
      const store = new RedisBudgetStore({ url: redis.url, keyPrefix: `budget${++prefixes}:` });
      opened.push(store);
      return store;
    },
  ],
];

const line = (want: number, extra: Partial<BudgetLine> = {}): BudgetLine => ({
  key: 'policy/ns/p/tokens/consumer=consumer/ns/a@2026-11',
  budget: 'policy/ns/p/tokens',
  per: 'consumer',
  subject: 'consumer/ns/a',
  unit: 'tokens',
  limit: 100,
  windowEnd: Date.now() + 3_600_000,
  want,
  enforce: true,
  ...extra,
});

describe.each(stores)('%s store', (_name, create) => {
  test('reserves while there is room, grants what is left, then refuses', async () => {
    const store = create();
    const a = (await store.reserve('a', [line(60)]))[0]!;
    const b = (await store.reserve('b', [line(60)]))[0]!;
    const c = (await store.reserve('c', [line(60)]))[0]!;
    expect([a.allowed, a.granted, a.spent, a.reserved]).toEqual([true, 60, 0, 0]);
    expect([b.allowed, b.granted, b.reserved]).toEqual([true, 40, 60]);
    expect([c.allowed, c.granted, c.reserved]).toEqual([false, 0, 100]);
  });

  test('settling replaces the reservation with the amount spent; releasing gives it back', async () => {
    const store = create();
    await store.reserve('a', [line(60)]);
    await store.reserve('b', [line(30)]);
    await store.settle('a', [line(60)], [25]);
    await store.settle('b', [line(30)], [0]);
    const [usage] = await store.usage();
    expect(usage).toMatchObject({
      spent: 25,
      reserved: 0,
      limit: 100,
      subject: 'consumer/ns/a',
      unit: 'tokens',
    });
    const next = (await store.reserve('c', [line(80)]))[0]!;
    expect([next.allowed, next.granted, next.spent]).toEqual([true, 75, 25]);
  });

  test('settling twice, or a hold it does not know, does not give back what it never reserved', async () => {
    const store = create();
    await store.reserve('a', [line(50)]);
    await store.settle('a', [line(50)], [10]);
    await store.settle('a', [line(50)], [0]);
    await store.settle('never', [line(50)], [0]);
    const [usage] = await store.usage();
    expect(usage).toMatchObject({ spent: 10, reserved: 0 });
  });

  test('is all or nothing across the budgets of a request', async () => {
    const store = create();
    const tight = line(10, { key: 'tight', limit: 5 });
    await store.reserve('first', [tight]);
    const grants = await store.reserve('second', [line(50), tight]);
    expect(grants.map((g) => g.allowed)).toEqual([false, false]);
    const usage = await store.usage();
    expect(usage.find((u) => u.key === line(0).key)?.reserved ?? 0).toBe(0);
  });

  test('a shadow budget grants everything and never refuses', async () => {
    const store = create();
    const shadow = line(80, { enforce: false });
    await store.reserve('a', [shadow]);
    const b = (await store.reserve('b', [shadow]))[0]!;
    expect([b.allowed, b.granted, b.reserved]).toEqual([true, 80, 80]);
  });

  test('a second partial grant waits while the first is in flight; a grant that fits does not', async () => {
    const store = create();
    await store.reserve('a', [line(60)]);
    expect((await store.reserve('b', [line(60)]))[0]).toMatchObject({ allowed: true, granted: 40 });
    await store.settle('a', [line(60)], [30]);
    const c = (await store.reserve('c', [line(60)]))[0]!;
    expect([c.allowed, c.granted, c.partialInFlight, c.spent, c.reserved]).toEqual([false, 0, true, 30, 40]);
    const d = (await store.reserve('d', [line(20)]))[0]!;
    expect([d.allowed, d.granted, d.partialInFlight]).toEqual([true, 20, false]);
    await store.settle('b', [line(60)], [40]);
    const e = (await store.reserve('e', [line(60)]))[0]!;
    expect([e.allowed, e.granted, e.partialInFlight]).toEqual([true, 10, false]);
  });

  test('a request that may use the whole limit holds the partial grant of its key', async () => {
    const store = create();
    expect((await store.reserve('whole', [line(100)]))[0]).toMatchObject({ allowed: true, granted: 100 });
    await store.settle('whole', [line(100)], [0]);
    await store.reserve('small', [line(10)]);
    await store.reserve('capped', [line(100)]);
    await store.settle('small', [line(10)], [0]);
    expect((await store.reserve('next', [line(100)]))[0]).toMatchObject({
      allowed: false,
      partialInFlight: true,
    });
  });

  test('a refusal with no room left is not a partial grant waiting', async () => {
    const store = create();
    await store.reserve('a', [line(100)]);
    expect((await store.reserve('b', [line(10)]))[0]).toMatchObject({
      allowed: false,
      partialInFlight: false,
    });
  });

  test('partial grants that each spend their whole maximum end at most one request past the limit, however settlements interleave', async () => {
    const store = create();
    // A request may use 25 (a 5-token prompt and max_tokens 20); answered requests use 15, but a
    // request granted only part of its 25 may still use all of it (a non-streamed answer is not cut).
    const most = 25;
    let spent = 0;
    const settle = async (id: string, amount: number) => {
      await store.settle(id, [line(most)], [amount]);
      spent += amount;
    };
    for (const id of ['a', 'b', 'c', 'd'])
      expect((await store.reserve(id, [line(most)]))[0]).toMatchObject({ allowed: true, granted: most });
    // Each settlement below its reservation frees room; a caller waiting right then asks for it.
    const admitted: Array<{ id: string; granted: number }> = [];
    for (const id of ['a', 'b', 'c', 'd']) {
      await settle(id, 15);
      const late = `late-${id}`;
      const grant = (await store.reserve(late, [line(most)]))[0]!;
      if (grant.allowed) admitted.push({ id: late, granted: grant.granted });
    }
    for (const { id } of admitted) await settle(id, most);
    // Then one caller at a time until refused, each using its whole maximum.
    for (let i = 0; i < 10; i++) {
      if (!(await store.reserve(`next-${i}`, [line(most)]))[0]!.allowed) break;
      await settle(`next-${i}`, most);
    }
    expect(spent).toBeLessThanOrEqual(100 + most);
    expect(spent).toBeGreaterThanOrEqual(100);
    expect(admitted.filter((g) => g.granted < most)).toHaveLength(1);
    const [usage] = await store.usage();
    expect(usage).toMatchObject({ spent, reserved: 0 });
  });

  test('a cost budget keeps its currency for reports', async () => {
    const store = create();
    await store.reserve('a', [line(7, { key: 'money', unit: 'cost', currency: 'EUR', limit: 1_000_000 })]);
    const usage = await store.usage();
    expect(usage.find((u) => u.key === 'money')).toMatchObject({
      unit: 'cost',
      currency: 'EUR',
      reserved: 7,
    });
  });
});

test('a reservation never settled (its pod gone) expires and gives its room back', () => {
  let now = Date.parse('2026-11-25T10:00:00Z');
  const store = new LocalBudgetStore({ now: () => now });
  const window = { windowEnd: now + 24 * 3_600_000 };
  expect(store.reserve('lost', [line(100, window)])[0]!.granted).toBe(100);
  expect(store.reserve('next', [line(10, window)])[0]!.allowed).toBe(false);
  now += 31 * 60_000;
  expect(store.reserve('next', [line(10, window)])[0]).toMatchObject({
    allowed: true,
    granted: 10,
    reserved: 0,
  });
});

test('a partial grant never settled expires and lets the next partial grant through', () => {
  let now = Date.parse('2026-11-25T10:00:00Z');
  const store = new LocalBudgetStore({ now: () => now });
  const window = { windowEnd: now + 24 * 3_600_000 };
  store.reserve('full', [line(50, window)]);
  store.reserve('lost', [line(60, window)]);
  store.settle('full', [line(50, window)], [20]);
  expect(store.reserve('next', [line(60, window)])[0]).toMatchObject({
    allowed: false,
    partialInFlight: true,
  });
  now += 31 * 60_000;
  expect(store.reserve('next', [line(90, window)])[0]).toMatchObject({ allowed: true, granted: 80 });
});

describe('calendar periods', () => {
  const at = (iso: string) => Date.parse(iso);

  test('a day in a time zone starts at local midnight', () => {
    const w = periodWindow('day', 'Europe/Paris', at('2026-11-25T23:30:00Z'));
    expect(w.id).toBe('2026-11-26');
    expect(new Date(w.start).toISOString()).toBe('2026-11-25T23:00:00.000Z');
    expect(new Date(w.end).toISOString()).toBe('2026-11-26T23:00:00.000Z');
  });

  test('the day daylight saving starts is 23 hours long', () => {
    const w = periodWindow('day', 'America/New_York', at('2026-03-08T12:00:00Z'));
    expect(w.id).toBe('2026-03-08');
    expect((w.end - w.start) / 3_600_000).toBe(23);
    expect(new Date(w.start).toISOString()).toBe('2026-03-08T05:00:00.000Z');
  });

  test('weeks start on Monday', () => {
    const w = periodWindow('week', 'UTC', at('2026-11-29T10:00:00Z'));
    expect(w.id).toBe('2026-11-23/P1W');
    expect(new Date(w.start).toISOString()).toBe('2026-11-23T00:00:00.000Z');
    expect(new Date(w.end).toISOString()).toBe('2026-11-30T00:00:00.000Z');
  });

  test('a month ends at the first of the next, across the year end', () => {
    const w = periodWindow('month', 'Asia/Tokyo', at('2026-12-31T16:00:00Z'));
    expect(w.id).toBe('2027-01');
    expect(new Date(w.start).toISOString()).toBe('2026-12-31T15:00:00.000Z');
    expect(new Date(w.end).toISOString()).toBe('2027-01-31T15:00:00.000Z');
  });
});

describe('when Redis does not answer', () => {
  let dead: StartedRedis;
  let provider: MockProvider;
  let gateway: Gateway;

  beforeAll(async () => {
    dead = await startRedis();
    await dead.stop();
    provider = await startOpenAIMock();
    const store = new RedisBudgetStore({ url: dead.url, commandTimeoutMs: 100 });
    opened.push(store);
    const budgetPolicy = (name: string, failureMode: string) => ({
      apiVersion: 'tollgate.dev/v1alpha1',
      kind: 'Policy',
      metadata: { name, namespace: 'ai' },
      spec: {
        targetRefs: [{ kind: 'Route', name }],
        budgets: [{ name: `${name}-budget`, tokens: { limit: 1000 }, failureMode }],
      },
    });
    gateway = await startGateway(
      [
        ...mockProviderObjects('llm', 'openai', provider, {
          models: [{ name: 'open-model' }, { name: 'closed-model' }],
        }),
        routeObject('open', [
          {
            matches: [{ model: { value: 'open-model' } }],
            backendRefs: [{ kind: 'AIProvider', name: 'llm' }],
          },
        ]),
        routeObject('closed', [
          {
            matches: [{ model: { value: 'closed-model' } }],
            backendRefs: [{ kind: 'AIProvider', name: 'llm' }],
          },
        ]),
        budgetPolicy('open', 'open'),
        budgetPolicy('closed', 'closed'),
      ],
      { budgets: store },
    );
  });

  afterAll(async () => {
    await gateway?.close();
    await provider?.close();
  });

  const ask = (model: string) =>
    new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'unused', maxRetries: 0 }).chat.completions.create({
      model,
      messages: [{ role: 'user', content: 'hi' }],
    });

  test('a budget that fails open admits the request', async () => {
    const reply = await ask('open-model');
    expect(reply.choices).toHaveLength(1);
  });

  test('a budget that fails closed refuses with 503 naming the budget', async () => {
    const error = await ask('closed-model').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.InternalServerError);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
    expect((error as Error).message).toMatch(/budget "closed-budget" fails closed/);
  });
});
