// The merge rules of the status writer, as pure functions.
import type { Condition } from '@tollgate/api';
import {
  CONTROLLER_NAME,
  mergeAncestors,
  mergeConditions,
  newFailures,
  nextStatus,
  sameStatus,
} from '../../src/kubernetes/status-merge.ts';

const NOW = '2030-01-01T00:00:00Z';
const EARLIER = '2020-01-01T00:00:00Z';
const accepted = (status: Condition['status'], message = 'ok'): Condition => ({
  type: 'Accepted',
  status,
  reason: status === 'True' ? 'Accepted' : 'Invalid',
  message,
  observedGeneration: 4,
});

test('a new condition gets the current time; an unchanged status keeps its time even with a new message', () => {
  expect(mergeConditions(undefined, [accepted('True')], NOW)).toEqual([
    { ...accepted('True'), lastTransitionTime: NOW },
  ]);
  const stored = [{ ...accepted('True'), lastTransitionTime: EARLIER }];
  expect(mergeConditions(stored, [accepted('True', 'new words')], NOW)[0]).toMatchObject({
    message: 'new words',
    lastTransitionTime: EARLIER,
  });
  expect(mergeConditions(stored, [accepted('False')], NOW)[0]).toMatchObject({
    status: 'False',
    lastTransitionTime: NOW,
  });
});

test('conditions of other types stay in place; ours we no longer report are dropped', () => {
  const theirs = { type: 'example.com/Ready', status: 'True', extra: 1 };
  const stored = [
    { type: 'Programmed', status: 'True', lastTransitionTime: EARLIER },
    theirs,
    { ...accepted('True'), lastTransitionTime: EARLIER },
  ];
  expect(mergeConditions(stored, [accepted('True')], NOW)).toEqual([
    theirs,
    { ...accepted('True'), lastTransitionTime: EARLIER },
  ]);
});

test('a Policy gets only ancestors: ours replaced in place, added at the end, others untouched', () => {
  const ref = (name: string) => ({ group: 'tollgate.dev', kind: 'Route' as const, namespace: 'ns', name });
  const theirs = { ancestorRef: ref('a'), controllerName: 'example.com/x', conditions: [] };
  const stored = {
    ancestors: [
      { ancestorRef: ref('gone'), controllerName: CONTROLLER_NAME, conditions: [] },
      theirs,
      {
        ancestorRef: ref('a'),
        controllerName: CONTROLLER_NAME,
        conditions: [{ ...accepted('True'), lastTransitionTime: EARLIER }],
      },
    ],
  };
  const out = nextStatus(
    stored,
    {
      ref: { kind: 'Policy', namespace: 'ns', name: 'p' },
      conditions: [accepted('True')],
      ancestors: [
        { ancestorRef: ref('a'), controllerName: CONTROLLER_NAME, conditions: [accepted('True')] },
        { ancestorRef: ref('b'), controllerName: CONTROLLER_NAME, conditions: [accepted('False')] },
      ],
    },
    NOW,
  );
  expect(out.conditions).toBeUndefined();
  expect(out.ancestors?.map((a) => [a.controllerName, (a.ancestorRef as { name: string }).name])).toEqual([
    ['example.com/x', 'a'],
    [CONTROLLER_NAME, 'a'],
    [CONTROLLER_NAME, 'b'],
  ]);
  expect(out.ancestors?.[1]?.conditions?.[0]?.lastTransitionTime).toBe(EARLIER);
});

test('ancestors beyond the CRD limit of 16 are cut from ours, never from others', () => {
  const others = Array.from({ length: 15 }, (_, i) => ({
    ancestorRef: { kind: 'Route', name: `o${i}` },
    controllerName: 'example.com/x',
  }));
  const ours = Array.from({ length: 3 }, (_, i) => ({
    ancestorRef: { group: 'tollgate.dev', kind: 'Route' as const, name: `t${i}` },
    controllerName: CONTROLLER_NAME,
    conditions: [accepted('True')],
  }));
  const merged = mergeAncestors(others, ours, NOW);
  expect(merged).toHaveLength(16);
  expect(merged.filter((a) => a.controllerName === CONTROLLER_NAME)).toHaveLength(1);
});

test('statuses compare as JSON regardless of key order', () => {
  expect(
    sameStatus(
      { conditions: [{ type: 'A', status: 'True' }] },
      { conditions: [{ status: 'True', type: 'A' }] },
    ),
  ).toBe(true);
  expect(sameStatus(undefined, {})).toBe(true);
});

test('only failures that were not there before are news', () => {
  const before = { conditions: [{ ...accepted('False', 'bad regex') }] };
  expect(newFailures(before, { conditions: [{ ...accepted('False', 'bad regex') }] })).toEqual([]);
  expect(newFailures(before, { conditions: [{ ...accepted('False', 'worse regex') }] })).toEqual([
    { type: 'Accepted', reason: 'Invalid', message: 'worse regex' },
  ]);
  expect(newFailures(undefined, { conditions: [accepted('True')] })).toEqual([]);
});
