// Load-balancing building blocks.
import { RoundRobin, WeightedPicker } from '../../src/upstream/index.ts';

describe('smooth weighted round robin', () => {
  test('interleaves picks instead of bunching them', () => {
    const picker = new WeightedPicker([
      { item: 'a', weight: 5 },
      { item: 'b', weight: 1 },
      { item: 'c', weight: 1 },
    ]);
    expect(Array.from({ length: 7 }, () => picker.pick()).join('')).toBe('aabacaa');
  });

  test('honours the weights exactly over every full cycle', () => {
    const picker = new WeightedPicker([
      { item: 'a', weight: 3 },
      { item: 'b', weight: 2 },
      { item: 'c', weight: 5 },
    ]);
    const counts: Record<string, number> = { a: 0, b: 0, c: 0 };
    for (let i = 0; i < 1000; i++) counts[picker.pick()!]!++;
    expect(counts).toEqual({ a: 300, b: 200, c: 500 });
  });

  test('never picks an item of weight 0 and has nothing to pick when all are 0', () => {
    const picker = new WeightedPicker([
      { item: 'a', weight: 0 },
      { item: 'b', weight: 2 },
    ]);
    expect(new Set(Array.from({ length: 10 }, () => picker.pick()))).toEqual(new Set(['b']));
    expect(new WeightedPicker([{ item: 'a', weight: 0 }]).pick()).toBeUndefined();
    expect(new WeightedPicker([]).pick()).toBeUndefined();
  });
});

test('round robin cycles through the items in order', () => {
  const rr = new RoundRobin(['x', 'y', 'z']);
  expect(Array.from({ length: 7 }, () => rr.pick()).join('')).toBe('xyzxyzx');
  expect(new RoundRobin([]).pick()).toBeUndefined();
});
