// The router compiled in slices and from a previous router: same matches as a fresh compile, and
// entries whose IR is the very same object keep what was attached to them.
import type { RouteEntryIR } from '@tollgate/snapshot';
import { buildRouter, compileRouter, type Router, runToEnd } from '../../src/router/index.ts';
import { entry, snapshotOf } from '../helpers.ts';

const routes = (n: number, tag = ''): RouteEntryIR[] =>
  Array.from({ length: n }, (_, i) => entry(`r${i}${tag}`, { path: ['PathPrefix', `/svc-${i}`] }));

function idAt(router: Router<unknown>, path: string, host = 'a.example.com'): string | undefined {
  return router.match({ host, path, method: 'GET', headers: {} })?.entry.ir.id;
}

let attached = 0;
const attach = (ir: RouteEntryIR) => ({ id: ir.id, n: attached++ });

test('a router built in slices yields between them and matches like one compiled at once', async () => {
  const snapshot = snapshotOf({ 'a.example.com': routes(3000), '*': routes(10, '-any') });
  const steps = buildRouter(snapshot, attach, {}, 0);
  let slices = 0;
  let step = steps.next();
  while (!step.done) {
    slices++;
    await new Promise((resolve) => setImmediate(resolve));
    step = steps.next();
  }
  const sliced = step.value;
  const whole = compileRouter(snapshot, attach);
  expect(slices).toBeGreaterThan(1);
  expect(sliced.entryCount).toBe(whole.entryCount);
  for (const path of ['/svc-0', '/svc-1234/x', '/svc-2999', '/nothing'])
    expect(idAt(sliced, path)).toBe(idAt(whole, path));
  expect(idAt(sliced, '/svc-3', 'other.example.com')).toBe('r3-any');
});

test('entries that are the same objects keep their attached data wherever they moved', () => {
  const list = routes(200);
  const before = compileRouter(
    snapshotOf({ 'a.example.com': list, 'b.example.com': list.slice(0, 5) }),
    attach,
  );
  const changed = entry('changed', { path: ['PathPrefix', '/svc-100'] });
  const inserted = entry('inserted', { path: ['Exact', '/new'] });
  // Head kept, one replaced, one inserted, a block moved, the tail kept.
  const next = [
    ...list.slice(0, 50),
    inserted,
    ...list.slice(120, 150),
    changed,
    ...list.slice(51, 100),
    ...list.slice(150),
  ];
  const after = runToEnd(
    buildRouter(snapshotOf({ 'a.example.com': next, 'b.example.com': list.slice(0, 5) }), attach, {
      previous: before,
    }),
  );
  const data = (router: Router<{ id: string; n: number }>, host: string, id: string) =>
    router.virtualHosts.find((v) => v.hostname === host)!.entries.find((e) => e.ir.id === id)?.data;
  for (const id of ['r0', 'r49', 'r51', 'r99', 'r120', 'r149', 'r150', 'r199'])
    expect(data(after, 'a.example.com', id)).toBe(data(before, 'a.example.com', id));
  expect(data(after, 'a.example.com', 'changed')).toBeDefined();
  expect(data(after, 'a.example.com', 'r100')).toBeUndefined();
  expect(after.virtualHosts[1]).toBe(before.virtualHosts[1]); // unchanged virtual host taken over whole
  expect(idAt(after, '/new')).toBe('inserted');
  expect(idAt(after, '/svc-100')).toBe('changed');
  expect(idAt(after, '/svc-50')).toBeUndefined();
  expect(idAt(after, '/svc-125/x')).toBe('r125');
  expect(idAt(after, '/svc-199')).toBe('r199');
  expect(after.entryCount).toBe(next.length + 5);
  const fresh = compileRouter(snapshotOf({ 'a.example.com': next }), attach);
  for (const path of ['/new', '/svc-0', '/svc-51', '/svc-130', '/svc-100', '/svc-150', '/svc-50'])
    expect(idAt(after, path)).toBe(idAt(fresh, path));
});

test('a changed entry in a reused router still fails the compile with its id', () => {
  const list = routes(10);
  const before = compileRouter(snapshotOf({ '*': list }), attach);
  const bad = entry('bad-regex', { path: ['RegularExpression', '/(unclosed'] });
  expect(() => compileRouter(snapshotOf({ '*': [...list, bad] }), attach, { previous: before })).toThrow(
    /route entry bad-regex/,
  );
});
