// Traffic splitting through a real data plane: a weighted canary, a blue/green switch by weights
// under load, and A/B tests with session persistence (cookie set by the gateway, or a header).

import type { SessionPersistenceIR } from '@tollgate/snapshot';
import { startUpstream, type TestUpstream, type UpstreamHandler } from '@tollgate/testkit';
import { Agent, request } from 'undici';
import { cluster, entry, type RunningDataplane, snapshotOf, startDataplane } from '../helpers.ts';

let stable: TestUpstream;
let canary: TestUpstream;
let gateway: RunningDataplane;
const agent = new Agent({ connections: 32 });

const answered =
  (name: string): UpstreamHandler =>
  (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' }).end(name);
  };

beforeAll(async () => {
  stable = await startUpstream('stable', answered('stable'));
  canary = await startUpstream('canary', answered('canary'));
  gateway = await startDataplane();
});

afterAll(async () => {
  await gateway?.close();
  await agent.close();
  await stable?.close();
  await canary?.close();
});

const clusters = () => [cluster('stable', [stable.port]), cluster('canary', [canary.port])];

function split(stableWeight: number, canaryWeight: number, sessionPersistence?: SessionPersistenceIR): void {
  const e = entry('split', {
    backends: [
      ['stable', stableWeight],
      ['canary', canaryWeight],
    ],
  });
  gateway.dataplane.applySnapshot(
    snapshotOf({ '*': [sessionPersistence ? { ...e, resilience: { sessionPersistence } } : e] }, clusters()),
  );
}

async function get(
  headers: Record<string, string> = {},
): Promise<{ body: string; headers: Record<string, unknown> }> {
  const response = await request(`${gateway.url}/x`, { headers, dispatcher: agent });
  if (response.statusCode !== 200) throw new Error(`status ${response.statusCode}`);
  return { body: await response.body.text(), headers: response.headers };
}

/** Runs `total` requests, `concurrency` at a time; returns how many each upstream answered. */
async function load(total: number, concurrency = 32): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        next++;
        const { body } = await get();
        counts[body] = (counts[body] ?? 0) + 1;
      }
    }),
  );
  return counts;
}

test('a 10% canary gets 10% ± 2% of 10,000 requests, with no errors', async () => {
  split(90, 10);
  const counts = await load(10_000);
  expect((counts.stable ?? 0) + (counts.canary ?? 0)).toBe(10_000);
  expect(counts.canary).toBeGreaterThanOrEqual(800);
  expect(counts.canary).toBeLessThanOrEqual(1200);
}, 120_000);

test('blue/green: moving the weights from 100/0 to 0/100 under load switches every later request, with no errors', async () => {
  split(100, 0);
  expect(await load(200)).toEqual({ stable: 200 });
  const during = load(600);
  split(0, 100);
  const counts = await during;
  expect((counts.stable ?? 0) + (counts.canary ?? 0)).toBe(600);
  expect(await load(200)).toEqual({ canary: 200 });
});

test('A/B with a session cookie: the gateway sets it on the first answer and every later request stays on that side', async () => {
  split(50, 50, { type: 'Cookie', name: 'ab', maxAgeSeconds: 3600 });
  const sides = new Set<string>();
  for (let user = 0; user < 30; user++) {
    const first = await get();
    const setCookie = String(first.headers['set-cookie']);
    expect(setCookie).toMatch(/^ab=[0-9a-z]+; Path=\/; HttpOnly; SameSite=Lax; Max-Age=3600$/);
    const cookie = setCookie.split(';')[0]!;
    sides.add(first.body);
    for (let i = 0; i < 10; i++) {
      const again = await get({ cookie: `other=1; ${cookie}` });
      expect(again.body).toBe(first.body);
      expect(again.headers['set-cookie']).toBeUndefined();
    }
  }
  expect(sides).toEqual(new Set(['stable', 'canary']));
});

test('A/B with a header: a user id keeps each user on one side, about half the users on each', async () => {
  split(50, 50, { type: 'Header', name: 'x-user-id' });
  const perSide: Record<string, number> = {};
  for (let user = 0; user < 200; user++) {
    const answers = new Set<string>();
    for (let i = 0; i < 3; i++) answers.add((await get({ 'x-user-id': `user-${user}` })).body);
    expect(answers.size).toBe(1);
    const side = [...answers][0]!;
    perSide[side] = (perSide[side] ?? 0) + 1;
  }
  expect(perSide.stable).toBeGreaterThan(60);
  expect(perSide.canary).toBeGreaterThan(60);
});

test('A/B with a header the client lacks: the gateway answers with a token that keeps the client on its side', async () => {
  split(50, 50, { type: 'Header', name: 'x-session' });
  for (let client = 0; client < 10; client++) {
    const first = await get();
    const token = first.headers['x-session'];
    expect(typeof token).toBe('string');
    for (let i = 0; i < 5; i++) expect((await get({ 'x-session': String(token) })).body).toBe(first.body);
  }
});

test('a session whose backend lost its weight is re-chosen by weight', async () => {
  split(50, 50, { type: 'Cookie', name: 'ab' });
  let cookie = '';
  for (let i = 0; i < 20 && !cookie; i++) {
    const answer = await get();
    if (answer.body === 'canary') cookie = String(answer.headers['set-cookie']).split(';')[0]!;
  }
  split(100, 0, { type: 'Cookie', name: 'ab' });
  const answer = await get({ cookie });
  expect(answer.body).toBe('stable');
  expect(String(answer.headers['set-cookie'])).toMatch(/^ab=/);
});
