// JWT authentication through the real standalone stack (controller and data-plane processes): a
// Policy with keys inline in a Secret file, an upstream that shows what it was sent. Rotating the
// keys in the Secret lets tokens of the new key in and shuts the old key out, without a restart.
import { startUpstream, type TestUpstream, waitFor } from '@tollgate/testkit';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { type StandaloneStack, startStandaloneStack } from '../src/index.ts';

const SLOW = 60_000;

type Signer = {
  kid: string;
  privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
  jwk: JWK;
};

async function newKey(kid: string): Promise<Signer> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256' } };
}

const sign = (signer: Signer) =>
  new SignJWT({ sub: 'reporter', email: 'reporter@example.com' })
    .setProtectedHeader({ alg: 'ES256', kid: signer.kid })
    .setIssuer('batch-scheduler')
    .setExpirationTime('5m')
    .sign(signer.privateKey);

const keysSecret = (keys: JWK[]) => `apiVersion: v1
kind: Secret
metadata: { name: batch-jwks, namespace: e2e }
stringData:
  jwks.json: '${JSON.stringify({ keys })}'
`;

const manifests = (upstream: TestUpstream) => `apiVersion: tollgate.dev/v1alpha1
kind: Route
metadata: { name: reports, namespace: e2e }
spec:
  rules:
    - backendRefs: [{ url: ${upstream.url} }]
---
apiVersion: tollgate.dev/v1alpha1
kind: Policy
metadata: { name: batch-jobs, namespace: e2e }
spec:
  targetRefs: [{ group: tollgate.dev, kind: Route, name: reports }]
  authentication:
    jwt:
      issuer: batch-scheduler
      jwks: { secretRef: { name: batch-jwks, key: jwks.json } }
      consumerClaim: sub
      forwardClaims: [{ claim: email, header: x-user-email }]
`;

let upstream: TestUpstream;
let stack: StandaloneStack;
let first: Signer;

beforeAll(async () => {
  upstream = await startUpstream('reports');
  first = await newKey('batch-1');
  stack = await startStandaloneStack({
    'reports.yaml': manifests(upstream),
    'jwks.yaml': keysSecret([first.jwk]),
  });
}, SLOW);

afterAll(async () => {
  await stack?.stop();
  await upstream?.close();
}, SLOW);

const call = async (token: string) =>
  (await fetch(`${stack.gatewayUrl}/reports`, { headers: { authorization: `Bearer ${token}` } })).status;

test(
  'a token signed by the key in the Secret reaches the upstream with its claims, without the token',
  async () => {
    expect(await call(await sign(first))).toBe(200);
    const seen = upstream.requests.at(-1)!;
    expect(seen.headers['x-user-email']).toBe('reporter@example.com');
    expect(seen.headers['x-tollgate-consumer']).toBe('e2e/reporter');
    expect(seen.headers.authorization).toBeUndefined();
  },
  SLOW,
);

test(
  'rotating the keys in the Secret lets the new key in and shuts the old one out, without a restart',
  async () => {
    const second = await newKey('batch-2');
    const old = await sign(first);
    await stack.writeManifest('jwks.yaml', keysSecret([second.jwk]));
    const fresh = await sign(second);
    await waitFor(async () => (await call(fresh)) === 200, {
      what: 'the new key to be accepted',
      timeoutMs: 20_000,
    });
    expect(await call(old)).toBe(401);
  },
  SLOW,
);
