// 10,000 routes: lookups stay correct and touch only the candidates their path can match.
import { performance } from 'node:perf_hooks';
import type { RouteEntryIR } from '@tollgate/snapshot';
import { compileRouter, type MatchTrace } from '../../src/router/index.ts';
import { entry, snapshotOf } from '../helpers.ts';

const COUNT = 10_000;

function bigSnapshot() {
  const exact: RouteEntryIR[] = [];
  const regex: RouteEntryIR[] = [];
  const prefix: RouteEntryIR[] = [];
  for (let i = 0; i < COUNT / 2; i++)
    exact.push(entry(`exact-${i}`, { path: ['Exact', `/svc/${i}/status`] }));
  for (let i = 0; i < 10; i++)
    regex.push(entry(`regex-${i}`, { path: ['RegularExpression', `/re${i}/[a-z]+`] }));
  // Pairs: a POST-only deeper prefix and a plain one, so some lookups skip a failing candidate.
  for (let i = 0; i < (COUNT / 2 - 10) / 2; i++) {
    prefix.push(entry(`prefix-${i}-post`, { path: ['PathPrefix', `/svc${i}/api`], method: 'POST' }));
    prefix.push(entry(`prefix-${i}`, { path: ['PathPrefix', `/svc${i}`] }));
  }
  // Longest prefix first, as the translator orders them.
  prefix.sort((a, b) => b.match.path.value.length - a.match.path.value.length);
  return snapshotOf({ 'big.test': [...exact, ...regex, ...prefix, entry('fallback')] });
}

const trace = (): MatchTrace => ({ examined: 0, regexTests: 0 });

describe(`a router with ${COUNT} routes`, () => {
  const snapshot = bigSnapshot();
  const compileStarted = performance.now();
  const router = compileRouter(snapshot);
  const compileMs = performance.now() - compileStarted;

  test('has every entry', () => {
    expect(router.entryCount).toBe(COUNT + 1);
  });

  test.each([
    ['/svc/4321/status', 'GET', 'exact-4321'],
    ['/svc2321/api/items', 'POST', 'prefix-2321-post'],
    ['/svc2321/api/items', 'GET', 'prefix-2321'],
    ['/svc2321', 'GET', 'prefix-2321'],
    ['/re7/abc', 'GET', 'regex-7'],
    ['/nothing/here', 'GET', 'fallback'],
  ])('finds %s %s → %s examining only path candidates', (path, method, expected) => {
    const t = trace();
    const match = router.match({ host: 'big.test', path, method, headers: {} }, t);
    expect(match?.entry.ir.id).toBe(expected);
    // The candidates of one path: at most an exact hit, a regex hit, and a couple of prefixes.
    expect(t.examined).toBeLessThanOrEqual(3);
    // Only regexes are tried one by one, and there are 10 of them.
    expect(t.regexTests).toBeLessThanOrEqual(10);
  });

  test('prints lookup speed (informational, not asserted)', () => {
    const paths = ['/svc/4321/status', '/svc2321/api/items', '/re7/abc', '/nothing/here'];
    const rounds = 50_000;
    const started = performance.now();
    for (let i = 0; i < rounds; i++) {
      router.match({ host: 'big.test', path: paths[i % paths.length]!, method: 'GET', headers: {} });
    }
    const perLookupUs = ((performance.now() - started) * 1000) / rounds;
    process.stdout.write(
      `router: ${router.entryCount} entries compiled in ${compileMs.toFixed(1)} ms; ${perLookupUs.toFixed(2)} µs per lookup\n`,
    );
  });
});

test('10,000 exact hosts resolve by map lookup', () => {
  const vhosts: Record<string, RouteEntryIR[]> = {};
  for (let i = 0; i < COUNT; i++) vhosts[`host${i}.test`] = [entry(`host-${i}`)];
  const router = compileRouter(snapshotOf(vhosts));
  const t = trace();
  expect(
    router.match({ host: 'host9876.test', path: '/x', method: 'GET', headers: {} }, t)?.entry.ir.id,
  ).toBe('host-9876');
  expect(t.examined).toBe(1);
});
