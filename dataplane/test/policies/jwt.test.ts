// JWT/OIDC authentication end to end in one process: the real translator and data plane, a real
// key server (JWKS and OpenID discovery over HTTP, with rotation), a real upstream that shows what
// it was sent, and tokens signed with jose.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type MockProvider,
  startOpenAIMock,
  startUpstream,
  type TestUpstream,
  waitFor,
} from '@tollgate/testkit';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import OpenAI from 'openai';
import { type Gateway, mockProviderObjects, startGateway } from '../ai/helpers.ts';

const ns = 'ai';
const ISSUER_PATH = '/realms/main';

interface KeyServer {
  url: string;
  issuer: string;
  /** The keys the server publishes. */
  publish(keys: JWK[]): void;
  fetches: number;
  close(): Promise<void>;
}

async function startKeyServer(): Promise<KeyServer> {
  let keys: JWK[] = [];
  const state = { fetches: 0 };
  const server: Server = createServer((req, res) => {
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    if (req.url === `${ISSUER_PATH}/.well-known/openid-configuration`) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ issuer: `${base}${ISSUER_PATH}`, jwks_uri: `${base}/jwks.json` }));
      return;
    }
    if (req.url === '/jwks.json') {
      state.fetches++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys }));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    issuer: `${url}${ISSUER_PATH}`,
    publish: (next) => {
      keys = next;
    },
    get fetches() {
      return state.fetches;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

type Signer = {
  kid: string;
  privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
  jwk: JWK;
  alg: string;
};

async function newKey(kid: string, alg = 'RS256'): Promise<Signer> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, privateKey, alg, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

interface TokenOptions {
  issuer?: string;
  audience?: string;
  expiresInSeconds?: number;
  claims?: Record<string, unknown>;
}

function token(signer: Signer, issuer: string, options: TokenOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sub: 'alice', org: 'shop', email: 'alice@example.com', ...options.claims })
    .setProtectedHeader({ alg: signer.alg, kid: signer.kid })
    .setIssuer(options.issuer ?? issuer)
    .setAudience(options.audience ?? 'orders')
    .setIssuedAt(now)
    .setExpirationTime(now + (options.expiresInSeconds ?? 300))
    .sign(signer.privateKey);
}

const policy = (name: string, spec: Record<string, unknown>) => ({
  apiVersion: 'tollgate.dev/v1alpha1',
  kind: 'Policy',
  metadata: { name, namespace: ns, creationTimestamp: '2026-01-01T00:00:00Z' },
  spec,
});

let keys: KeyServer;
let upstream: TestUpstream;
let provider: MockProvider;
let gateway: Gateway;
let first: Signer;
let inline: Signer;

function manifests(): unknown[] {
  const jwt = {
    issuer: keys.issuer,
    audiences: ['orders'],
    jwksURI: `${keys.url}/jwks.json`,
    jwksCacheDuration: '1s',
    clockSkew: '0s',
    algorithms: ['RS256'],
    consumerClaim: 'sub',
    teamClaim: 'org',
    forwardClaims: [
      { claim: 'email', header: 'X-User-Email' },
      { claim: 'org', header: 'X-User-Org' },
    ],
  };
  return [
    ...mockProviderObjects('llm', 'openai', provider, { models: [{ name: 'gpt-4o-mini' }] }),
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'internal-jwks', namespace: ns },
      stringData: { 'jwks.json': JSON.stringify({ keys: [inline.jwk] }) },
    },
    {
      apiVersion: 'tollgate.dev/v1alpha1',
      kind: 'Route',
      metadata: { name: 'app', namespace: ns },
      spec: {
        rules: [
          { name: 'orders', matches: [{ path: { value: '/orders' } }], backendRefs: [{ url: upstream.url }] },
          { name: 'oidc', matches: [{ path: { value: '/oidc' } }], backendRefs: [{ url: upstream.url }] },
          { name: 'inline', matches: [{ path: { value: '/inline' } }], backendRefs: [{ url: upstream.url }] },
          { name: 'dead', matches: [{ path: { value: '/dead' } }], backendRefs: [{ url: upstream.url }] },
          { name: 'admin', matches: [{ path: { value: '/admin' } }], backendRefs: [{ url: upstream.url }] },
          { name: 'public', matches: [{ path: { value: '/public' } }], backendRefs: [{ url: upstream.url }] },
        ],
      },
    },
    {
      apiVersion: 'tollgate.dev/v1alpha1',
      kind: 'Route',
      metadata: { name: 'llm', namespace: ns },
      spec: { rules: [{ backendRefs: [{ kind: 'AIProvider', name: 'llm' }] }] },
    },
    policy('jwt', { targetRefs: [{ group: '', kind: 'Namespace', name: ns }], authentication: { jwt } }),
    policy('oidc', {
      targetRefs: [{ kind: 'Route', name: 'app', sectionName: 'oidc' }],
      authentication: { jwt: { issuer: keys.issuer, discovery: true, consumerClaim: 'sub' } },
    }),
    policy('inline', {
      targetRefs: [{ kind: 'Route', name: 'app', sectionName: 'inline' }],
      authentication: {
        jwt: {
          issuer: 'internal',
          jwks: { secretRef: { name: 'internal-jwks', key: 'jwks.json' } },
          forwardToken: true,
        },
      },
    }),
    policy('admins-only', {
      targetRefs: [{ kind: 'Route', name: 'app', sectionName: 'admin' }],
      authorization: {
        defaultAction: 'deny',
        rules: [
          { name: 'admins', action: 'allow', claims: [{ name: 'realm_access.roles', values: ['admin'] }] },
        ],
      },
    }),
    policy('public', {
      targetRefs: [{ kind: 'Route', name: 'app', sectionName: 'public' }],
      authentication: { jwt: { ...jwt, required: false } },
    }),
    policy('dead', {
      targetRefs: [{ kind: 'Route', name: 'app', sectionName: 'dead' }],
      authentication: { jwt: { issuer: keys.issuer, jwksURI: 'http://127.0.0.1:1/jwks.json' } },
    }),
  ];
}

beforeAll(async () => {
  [keys, upstream, provider] = await Promise.all([startKeyServer(), startUpstream('app'), startOpenAIMock()]);
  [first, inline] = await Promise.all([newKey('k1'), newKey('inline-1', 'ES256')]);
  keys.publish([first.jwk]);
  gateway = await startGateway(manifests());
});

afterAll(async () => {
  await gateway?.close();
  await Promise.all([keys?.close(), upstream?.close(), provider?.close()]);
});

const call = (path: string, headers: Record<string, string> = {}) =>
  fetch(`${gateway.url}${path}`, { headers });
const bearer = (jwt: string, extra: Record<string, string> = {}) => ({
  authorization: `Bearer ${jwt}`,
  ...extra,
});
const lastSeen = () => upstream.requests.at(-1)!;

test('a valid token reaches the upstream with its claims as headers, without the token, as its consumer', async () => {
  const jwt = await token(first, keys.issuer);
  const res = await call('/orders', bearer(jwt, { 'x-user-email': 'forged@example.com' }));
  expect(res.status).toBe(200);
  const seen = lastSeen();
  expect(seen.headers['x-user-email']).toBe('alice@example.com');
  expect(seen.headers['x-user-org']).toBe('shop');
  expect(seen.headers['x-tollgate-consumer']).toBe(`${ns}/alice`);
  expect(seen.headers['x-tollgate-team']).toBe('shop');
  expect(seen.headers.authorization).toBeUndefined();
});

test('a request without a token is refused with 401 and a Bearer challenge', async () => {
  const before = upstream.requests.length;
  const res = await call('/orders', { 'x-user-email': 'forged@example.com' });
  expect(res.status).toBe(401);
  expect(res.headers.get('www-authenticate')).toContain('Bearer');
  expect(((await res.json()) as { error: { code: string } }).error.code).toBe('TG_ERR_AUTH_MISSING_TOKEN');
  expect(upstream.requests.length).toBe(before);
});

test.each([
  ['the wrong issuer', { issuer: 'https://elsewhere.example.com' }, /issuer/],
  ['the wrong audience', { audience: 'billing' }, /audience/],
  ['an expiry in the past', { expiresInSeconds: -60 }, /expired/],
])('a token with %s is refused with 401 naming the problem', async (_what, options, reason) => {
  const res = await call('/orders', bearer(await token(first, keys.issuer, options)));
  expect(res.status).toBe(401);
  const body = (await res.json()) as { error: { code: string; message: string } };
  expect(body.error.code).toBe('TG_ERR_AUTH_INVALID_TOKEN');
  expect(body.error.message).toMatch(reason);
});

test('a token signed with an algorithm the policy does not allow is refused', async () => {
  const hmac = new TextEncoder().encode('a-shared-secret-that-must-not-work-here');
  const forged = await new SignJWT({ sub: 'alice' })
    .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
    .setIssuer(keys.issuer)
    .setAudience('orders')
    .setExpirationTime('5m')
    .sign(hmac);
  const res = await call('/orders', bearer(forged));
  expect(res.status).toBe(401);
  expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/algorithm/);
});

test('a token signed by a key the issuer does not publish is refused', async () => {
  const stranger = await newKey('k1');
  const res = await call('/orders', bearer(await token(stranger, keys.issuer)));
  expect(res.status).toBe(401);
  expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/signature/);
});

test('an authorization rule on a nested list claim lets in the tokens that carry the role, and only them', async () => {
  const admin = await token(first, keys.issuer, { claims: { realm_access: { roles: ['user', 'admin'] } } });
  const user = await token(first, keys.issuer, { claims: { realm_access: { roles: ['user'] } } });
  expect((await call('/admin', bearer(admin))).status).toBe(200);
  const refused = await call('/admin', bearer(user));
  expect(refused.status).toBe(403);
  expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(
    /the default action/,
  );
});

test('with required: false a request without a token passes as anonymous, and forged claim headers are removed', async () => {
  const res = await call('/public', {
    'x-user-email': 'forged@example.com',
    'x-tollgate-consumer': 'ai/admin',
  });
  expect(res.status).toBe(200);
  const seen = lastSeen();
  expect(seen.headers['x-user-email']).toBeUndefined();
  expect(seen.headers['x-tollgate-consumer']).toBeUndefined();
  // A bad token is still refused.
  expect((await call('/public', bearer('not.a.token'))).status).toBe(401);
});

test('OpenID discovery finds the key set from the issuer', async () => {
  const res = await call('/oidc', bearer(await token(first, keys.issuer)));
  expect(res.status).toBe(200);
  expect(lastSeen().headers['x-tollgate-consumer']).toBe(`${ns}/alice`);
});

test('inline keys from a Secret verify tokens, and forwardToken keeps the Authorization header', async () => {
  const jwt = await token(inline, 'internal', { issuer: 'internal' });
  const res = await call('/inline', bearer(jwt));
  expect(res.status).toBe(200);
  expect(lastSeen().headers.authorization).toBe(`Bearer ${jwt}`);
  expect(lastSeen().headers['x-tollgate-consumer']).toBeUndefined();
});

test('a key server that cannot be reached answers 503, not 401', async () => {
  const res = await call('/dead', bearer(await token(first, keys.issuer)));
  expect(res.status).toBe(503);
  expect(((await res.json()) as { error: { code: string } }).error.code).toBe('TG_ERR_AUTH_KEYS_UNAVAILABLE');
});

test('the OpenAI client gets an authentication error in its own format, and works with a token', async () => {
  const client = (apiKey: string) =>
    new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey, maxRetries: 0 }).chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
    });
  const error = await client(await token(first, keys.issuer, { expiresInSeconds: -5 })).catch(
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
  expect((error as InstanceType<typeof OpenAI.AuthenticationError>).message).toMatch(/expired/);
  const reply = await client(await token(first, keys.issuer));
  expect(reply.choices).toHaveLength(1);
});

test('after a key rotation new tokens are accepted, old ones are refused once expired, and a retired key stops working', async () => {
  const old = await token(first, keys.issuer, { expiresInSeconds: 3 });
  const unexpired = await token(first, keys.issuer);
  expect((await call('/orders', bearer(old))).status).toBe(200);
  const second = await newKey('k2');
  keys.publish([first.jwk, second.jwk]);
  // An unknown key id makes the data plane fetch the key set again (after a short cool-down).
  await waitFor(
    async () => (await call('/orders', bearer(await token(second, keys.issuer)))).status === 200,
    {
      what: 'a token of the new key to be accepted',
      timeoutMs: 10_000,
    },
  );
  await waitFor(
    async () => {
      const res = await call('/orders', bearer(old));
      return (
        res.status === 401 &&
        /expired/.test(((await res.json()) as { error: { message: string } }).error.message)
      );
    },
    { what: 'the token of the old key to expire', timeoutMs: 10_000 },
  );
  expect((await call('/orders', bearer(unexpired))).status).toBe(200);
  keys.publish([second.jwk]);
  await waitFor(async () => (await call('/orders', bearer(unexpired))).status === 401, {
    what: 'tokens of the retired key to be refused',
    timeoutMs: 10_000,
  });
  expect((await call('/orders', bearer(await token(second, keys.issuer)))).status).toBe(200);
});
