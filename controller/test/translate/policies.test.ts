// Policies in the translator beyond the golden files: key rotation changes only the hash, and the
// effective policy follows the Secret and the Policy set without anything else moving.
import { createHash } from 'node:crypto';
import { translate } from '../../src/translate/index.ts';

const sha256 = (key: string) => createHash('sha256').update(key).digest('hex');

function objects(key: string, extra: unknown[] = []): unknown[] {
  return [
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'app-key', namespace: 'shop' },
      stringData: { key },
    },
    {
      apiVersion: 'tollgate.dev/v1alpha1',
      kind: 'Consumer',
      metadata: { name: 'app', namespace: 'shop' },
      spec: { team: 'shop', apiKeys: [{ secretRef: { name: 'app-key', key: 'key' } }] },
    },
    {
      apiVersion: 'tollgate.dev/v1alpha1',
      kind: 'Route',
      metadata: { name: 'orders', namespace: 'shop' },
      spec: { rules: [{ backendRefs: [{ url: 'http://127.0.0.1:9000' }] }] },
    },
    ...extra,
  ];
}

const keysPolicy = {
  apiVersion: 'tollgate.dev/v1alpha1',
  kind: 'Policy',
  metadata: { name: 'keys', namespace: 'shop' },
  spec: { targetRefs: [{ group: '', kind: 'Namespace', name: 'shop' }], authentication: { apiKey: {} } },
};

test('rotating the key in the Secret replaces the old hash with the new one', () => {
  const before = translate(objects('sk-one')).snapshot;
  const after = translate(objects('sk-two')).snapshot;
  expect(before.consumers[0]?.apiKeyHashes).toEqual([sha256('sk-one')]);
  expect(after.consumers[0]?.apiKeyHashes).toEqual([sha256('sk-two')]);
  expect(after.version).not.toBe(before.version);
  expect(after.virtualHosts).toEqual(before.virtualHosts);
});

test('a route gets an effective policy only while a Policy with an enforced section covers it', () => {
  const without = translate(objects('sk-one')).snapshot;
  expect(without.virtualHosts[0]?.routes[0]?.policy).toBeUndefined();
  const withKeys = translate(objects('sk-one', [keysPolicy])).snapshot;
  expect(withKeys.virtualHosts[0]?.routes[0]?.policy).toEqual({
    authentication: {
      from: 'policy/shop/keys',
      apiKey: { required: true, headers: ['authorization', 'x-api-key', 'api-key'] },
    },
  });
});

test('a Policy in another namespace does not reach the route', () => {
  const elsewhere = { ...keysPolicy, metadata: { name: 'keys', namespace: 'other' } };
  const spec = { ...keysPolicy.spec, targetRefs: [{ group: '', kind: 'Namespace', name: 'other' }] };
  const { snapshot } = translate(objects('sk-one', [{ ...elsewhere, spec }]));
  expect(snapshot.virtualHosts[0]?.routes[0]?.policy).toBeUndefined();
});
