// Which Secrets are read: the references the source finds, and the API convention it relies on
// (every Secret reference is a `*Ref: { name, key }`, and nothing else has that shape).
import { buildCRD, crdDefinitions } from '@tollgate/api/crd';
import { TOLLGATE_API_VERSION, WATCHED_RESOURCES } from '../../../src/sources/kubernetes/resources.ts';
import { referencedSecrets } from '../../../src/sources/kubernetes/secret-refs.ts';

const keyRef = (name: string) => ({ name, key: 'k' });

test('finds the Secrets of AIProvider credentials and Consumer API keys, in the object namespace', () => {
  const objects = [
    {
      apiVersion: TOLLGATE_API_VERSION,
      kind: 'AIProvider',
      metadata: { name: 'openai', namespace: 'ai' },
      spec: { type: 'openai', auth: { secretRef: keyRef('openai-key') } },
    },
    {
      apiVersion: TOLLGATE_API_VERSION,
      kind: 'AIProvider',
      metadata: { name: 'bedrock', namespace: 'ai' },
      spec: {
        type: 'bedrock',
        auth: {
          aws: {
            accessKeyIdRef: keyRef('aws'),
            secretAccessKeyRef: keyRef('aws'),
            sessionTokenRef: keyRef('aws-session'),
          },
        },
      },
    },
    {
      apiVersion: TOLLGATE_API_VERSION,
      kind: 'AIProvider',
      metadata: { name: 'vertex', namespace: 'ai' },
      spec: { type: 'vertex-ai', auth: { gcp: { serviceAccountKeyRef: keyRef('gcp') } } },
    },
    {
      apiVersion: TOLLGATE_API_VERSION,
      kind: 'Consumer',
      metadata: { name: 'app', namespace: 'apps' },
      spec: { apiKeys: [{ secretRef: keyRef('app-1') }, { name: 'second', secretRef: keyRef('app-2') }] },
    },
  ];
  expect([...referencedSecrets(objects).keys()].sort()).toEqual([
    'ai/aws',
    'ai/aws-session',
    'ai/gcp',
    'ai/openai-key',
    'apps/app-1',
    'apps/app-2',
  ]);
});

test('finds the JWKS Secret of a JWT Policy, in the policy namespace', () => {
  const policy = {
    apiVersion: TOLLGATE_API_VERSION,
    kind: 'Policy',
    metadata: { name: 'jwt', namespace: 'apps' },
    spec: { authentication: { jwt: { issuer: 'https://idp', jwks: { secretRef: keyRef('idp-keys') } } } },
  };
  expect([...referencedSecrets([policy]).keys()]).toEqual(['apps/idp-keys']);
});

test("finds the certificate Secrets of a Route's spec.tls", () => {
  const route = {
    apiVersion: TOLLGATE_API_VERSION,
    kind: 'Route',
    metadata: { name: 'shop', namespace: 'web' },
    spec: {
      hostnames: ['shop.example.com'],
      tls: { certificateRefs: [{ name: 'shop-rsa' }, { name: 'shop-ecdsa' }] },
      rules: [{ backendRefs: [{ name: 'shop', port: 80 }] }],
    },
  };
  expect([...referencedSecrets([route]).keys()].sort()).toEqual(['web/shop-ecdsa', 'web/shop-rsa']);
});

test('ignores references that are not Secrets, and objects of other API groups', () => {
  const objects = [
    {
      apiVersion: TOLLGATE_API_VERSION,
      kind: 'Route',
      metadata: { name: 'r', namespace: 'shop' },
      spec: { rules: [{ backendRefs: [{ name: 'orders', port: 80 }] }] },
    },
    {
      apiVersion: TOLLGATE_API_VERSION,
      kind: 'Policy',
      metadata: { name: 'p', namespace: 'shop' },
      spec: { targetRefs: [{ kind: 'Route', name: 'r' }] },
    },
    {
      apiVersion: 'example.com/v1',
      kind: 'Consumer',
      metadata: { name: 'x', namespace: 'shop' },
      spec: { apiKeys: [{ secretRef: keyRef('foreign') }] },
    },
  ];
  expect(referencedSecrets(objects).size).toBe(0);
});

/**
 * Object schemas in the CRDs, as `Kind: path`: `secrets` are SecretKeyRefs (their `name` is "Name
 * of the Secret…"), `lookalikes` are other `*Ref`s with both `name` and `key`.
 */
function refShapes(): { secrets: string[]; lookalikes: string[] } {
  const secrets: string[] = [];
  const lookalikes: string[] = [];
  const visit = (schema: Record<string, unknown>, path: string, kind: string): void => {
    const properties = schema.properties as Record<string, Record<string, unknown>> | undefined;
    if (properties?.name && properties.key) {
      const isSecret = String(properties.name.description).startsWith('Name of the Secret');
      if (isSecret) secrets.push(`${kind}: ${path}`);
      else if (path.endsWith('Ref')) lookalikes.push(`${kind}: ${path}`);
    }
    for (const [name, child] of Object.entries(properties ?? {})) visit(child, `${path}.${name}`, kind);
    if (schema.items) visit(schema.items as Record<string, unknown>, `${path}[]`, kind);
  };
  for (const crd of crdDefinitions.map(buildCRD)) {
    const schema = crd.spec.versions[0]!.schema.openAPIV3Schema as Record<string, unknown>;
    visit(schema, '', crd.spec.names.kind);
  }
  return { secrets: secrets.sort(), lookalikes };
}

test('the API keeps the convention the search relies on: Secret references are `*Ref: { name, key }`', () => {
  const { secrets, lookalikes } = refShapes();
  for (const path of secrets) expect(path).toMatch(/Ref$/);
  expect(lookalikes).toEqual([]);
  // A new credential field shows up here; it is found without code changes, but should be seen.
  expect(secrets).toEqual([
    'AIProvider: .spec.auth.aws.accessKeyIdRef',
    'AIProvider: .spec.auth.aws.secretAccessKeyRef',
    'AIProvider: .spec.auth.aws.sessionTokenRef',
    'AIProvider: .spec.auth.gcp.serviceAccountKeyRef',
    'AIProvider: .spec.auth.secretRef',
    'Consumer: .spec.apiKeys[].secretRef',
    'Policy: .spec.authentication.jwt.jwks.secretRef',
  ]);
});

test('watches every Tollgate kind the CRDs define, under its plural', () => {
  const crds = crdDefinitions.map(buildCRD).map((crd) => `${crd.spec.names.kind}/${crd.spec.names.plural}`);
  const watched = WATCHED_RESOURCES.filter((r) => r.apiVersion === TOLLGATE_API_VERSION).map(
    (r) => `${r.kind}/${r.plural}`,
  );
  expect(watched.sort()).toEqual(crds.sort());
});
