// compactHeap: a memory-reducing collection without `--expose-gc` and without leaving `gc` among
// the application's globals.
import { getHeapSpaceStatistics } from 'node:v8';
import { compactHeap, compactHeapAfter } from '../src/heap.ts';

const newSpace = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;

test('shrinks the young generation after a burst of allocation and exposes no gc global', () => {
  let kept: unknown[] = [];
  for (let i = 0; i < 400_000; i++) {
    const item = { i, pair: [i, i], text: `item ${i}` };
    if (i % 2 === 0) kept.push(item);
  }
  const grown = newSpace();
  kept = [];
  compactHeap();
  expect(newSpace()).toBeLessThanOrEqual(grown);
  expect(newSpace()).toBeLessThanOrEqual(2 * 1024 * 1024);
  expect((globalThis as { gc?: unknown }).gc).toBeUndefined();
});

test('compacts after the work settles, whether it resolves or rejects', async () => {
  compactHeapAfter(Promise.reject(new Error('load failed')));
  compactHeapAfter(Promise.resolve());
  await new Promise((resolve) => setTimeout(resolve, 20));
  expect(newSpace()).toBeLessThanOrEqual(2 * 1024 * 1024);
});
