// The resilience and traffic-splitting fields of Policy and Route: defaults filled in, and the
// cross-field rules (CEL, enforced by zod too) rejecting what cannot work, naming the field.
import { parseObject } from '../src/index.ts';

const meta = { name: 'x', namespace: 'default' };
const policy = (spec: Record<string, unknown>) => ({
  apiVersion: 'tollgate.dev/v1alpha1',
  kind: 'Policy',
  metadata: meta,
  spec: { targetRefs: [{ kind: 'Route', name: 'shop' }], ...spec },
});
const route = (rule: Record<string, unknown>) => ({
  apiVersion: 'tollgate.dev/v1alpha1',
  kind: 'Route',
  metadata: meta,
  spec: { rules: [{ backendRefs: [{ url: 'http://10.0.0.1:8080' }], ...rule }] },
});

function parsed(raw: unknown): Record<string, unknown> {
  const result = parseObject(raw);
  if (!result.ok) throw new Error(result.message);
  return (result.object as unknown as { spec: Record<string, unknown> }).spec;
}

function rejection(raw: unknown): string {
  const result = parseObject(raw);
  if (result.ok) throw new Error('accepted');
  return result.message;
}

test('a loadBalancer section alone is a valid Policy, RoundRobin with a 50% panic threshold by default', () => {
  expect(parsed(policy({ loadBalancer: {} })).loadBalancer).toEqual({
    type: 'RoundRobin',
    panicThreshold: 50,
  });
});

test('consistent hashing defaults to Maglev and needs exactly one key source', () => {
  expect(
    parsed(policy({ loadBalancer: { type: 'ConsistentHash', consistentHash: { cookie: 'sid' } } }))
      .loadBalancer,
  ).toEqual({
    type: 'ConsistentHash',
    consistentHash: { cookie: 'sid', algorithm: 'Maglev' },
    panicThreshold: 50,
  });
  expect(
    rejection(
      policy({ loadBalancer: { type: 'ConsistentHash', consistentHash: { header: 'x-a', sourceIP: true } } }),
    ),
  ).toContain('set exactly one of header, cookie, queryParameter and sourceIP: true');
  expect(rejection(policy({ loadBalancer: { type: 'ConsistentHash', consistentHash: {} } }))).toContain(
    'set exactly one of header, cookie, queryParameter and sourceIP: true',
  );
});

test('consistentHash goes with type ConsistentHash only', () => {
  expect(rejection(policy({ loadBalancer: { type: 'ConsistentHash' } }))).toContain(
    'consistentHash is required with type ConsistentHash, and only then',
  );
  expect(
    rejection(policy({ loadBalancer: { type: 'Random', consistentHash: { header: 'x-a' } } })),
  ).toContain('consistentHash is required with type ConsistentHash, and only then');
});

test('retries default to 2 attempts on connect failures, resets and gateway errors, 64 KiB replay buffer', () => {
  expect(parsed(policy({ retries: {} })).retries).toEqual({
    attempts: 2,
    retryOn: ['connect-failure', 'reset', 'gateway-error'],
    retryNonIdempotent: false,
    bufferBodyLimit: 65_536,
  });
  expect(parsed(policy({ retries: { budget: {} } })).retries).toMatchObject({
    budget: { percent: 20, minRetryConcurrency: 3 },
  });
  expect(rejection(policy({ retries: { budget: { percent: 120 } } }))).toContain(
    'spec.retries.budget.percent',
  );
});

test('health checks take a jitter duration; circuit breakers a maximum ejection time', () => {
  expect(parsed(policy({ healthCheck: { active: { jitter: '500ms' } } })).healthCheck).toMatchObject({
    active: { path: '/', interval: '10s', timeout: '1s', jitter: '500ms' },
  });
  expect(rejection(policy({ healthCheck: { active: { jitter: 'soon' } } }))).toContain(
    'spec.healthCheck.active.jitter',
  );
  expect(
    parsed(policy({ circuitBreaker: { consecutiveErrors: 5, maxEjectionTime: '5m' } })).circuitBreaker,
  ).toEqual({
    consecutiveErrors: 5,
    maxEjectionTime: '5m',
  });
});

test('a Route rule takes sessionPersistence: a cookie named tollgate-session by default', () => {
  const rules = parsed(route({ sessionPersistence: {} })).rules as Array<Record<string, unknown>>;
  expect(rules[0]!.sessionPersistence).toEqual({ type: 'Cookie', sessionName: 'tollgate-session' });
  expect(rejection(route({ sessionPersistence: { type: 'Header', sessionName: 'bad name' } }))).toContain(
    'sessionPersistence.sessionName',
  );
});
