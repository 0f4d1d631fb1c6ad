// Programmed over every replica's data planes: the leader's own plus the ones other replicas report.
import { programmedCondition } from '../../src/status/programmed.ts';
import { type ReportedDataplane, reportLocal, rolloutOf } from '../../src/status/rollout.ts';

const V = '0123456789abcdef';
const OLD = 'fedcba9876543210';

function reported(node: string, init: Partial<ReportedDataplane> = {}): ReportedDataplane {
  return {
    node,
    zone: 'zone-a',
    connectedSince: '2026-01-01T00:00:00.000Z',
    replica: 'controller-b',
    ...init,
  };
}

test('data planes on every replica running the version make Programmed True, with the counts', () => {
  const local = reportLocal(
    [{ id: 'dp-a', zone: 'zone-a', connectedAt: 0, ackedVersion: V }],
    'controller-a',
  );
  const rollout = rolloutOf(V, [...local, reported('dp-b', { ackedVersion: V })]);
  expect(rollout).toEqual({ version: V, connected: 2, acked: 2, rejections: [] });
  expect(programmedCondition(true, rollout)).toMatchObject({
    status: 'True',
    reason: 'Programmed',
    message: `In snapshot ${V}; 2 of 2 data planes run it.`,
  });
});

test('a data plane on another replica that rejected the version makes Programmed False and names it', () => {
  const rollout = rolloutOf(V, [
    reported('dp-a', { ackedVersion: V, replica: 'controller-a' }),
    reported('dp-b', { ackedVersion: OLD, lastNack: { version: V, message: 'ee key too small' } }),
  ]);
  expect(programmedCondition(true, rollout)).toMatchObject({
    status: 'False',
    reason: 'Rejected',
    message: `Snapshot ${V} was rejected by 1 data plane(s) (1 of 2 run it); dp-b: ee key too small`,
  });
});

test('a rejection of an older version does not count against the current one', () => {
  const rollout = rolloutOf(V, [
    reported('dp-b', { ackedVersion: OLD, lastNack: { version: OLD, message: 'x' } }),
  ]);
  expect(rollout.rejections).toEqual([]);
  expect(programmedCondition(true, rollout)).toMatchObject({ status: 'Unknown', reason: 'Pending' });
});

test('reportLocal carries node, zone, versions and the connection time in ISO form', () => {
  expect(
    reportLocal(
      [{ id: 'dp-a', zone: 'z', connectedAt: 0, ackedVersion: OLD, lastNack: { version: V, message: 'm' } }],
      'controller-a',
    ),
  ).toEqual([
    {
      node: 'dp-a',
      zone: 'z',
      ackedVersion: OLD,
      lastNack: { version: V, message: 'm' },
      connectedSince: '1970-01-01T00:00:00.000Z',
      replica: 'controller-a',
    },
  ]);
});
