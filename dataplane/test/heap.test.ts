// compactHeap: a memory-reducing collection without `--expose-gc` and without leaving `gc` among
// the application's globals.
import { getHeapSpaceStatistics } from 'node:v8';
import { compactHeap, compactHeapAfter } from '../src/heap.ts';

const newSpace = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;

/** Allocates a burst in which half the objects survive a while: V8's signal to grow the young generation. */
function growYoungGeneration(): void {
  let kept: unknown[] = [];
  for (let i = 0; i < 400_000; i++) {
    const item = { i, pair: [i, i], text: `item ${i}` };
    if (i % 2 === 0) kept.push(item);
  }
  kept = [];
}

test('shrinks the young generation after a burst of allocation and exposes no gc global', () => {
  growYoungGeneration();
  const grown = newSpace();
  compactHeap();
  expect(newSpace()).toBeLessThanOrEqual(grown);
  expect(newSpace()).toBeLessThanOrEqual(2 * 1024 * 1024);
  expect((globalThis as { gc?: unknown }).gc).toBeUndefined();
});

test.each([
  ['resolves', () => Promise.resolve()],
  ['rejects', () => Promise.reject(new Error('load failed'))],
])('compacts after the work settles when it %s', async (_how, work) => {
  growYoungGeneration();
  // Without this the assertion below would hold whether or not anything was compacted.
  expect(newSpace()).toBeGreaterThan(2 * 1024 * 1024);
  compactHeapAfter(work());
  await new Promise((resolve) => setTimeout(resolve, 20));
  expect(newSpace()).toBeLessThanOrEqual(2 * 1024 * 1024);
});
