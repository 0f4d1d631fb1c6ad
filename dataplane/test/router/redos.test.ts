// Patterns that backtrack catastrophically in a backtracking engine ("(a+)+$", "(a|aa)*b",
// "(x+x+)+y") are accepted, and a data-plane PROCESS given inputs built to trip them answers each
// request and keeps serving: it runs user patterns in a linear-time engine. Real controller and
// data-plane processes, so a stalled event loop would show as a request that never completes.
// (With RegExp, each of these inputs would take on the order of 2^64 steps.)
import { type MockProvider, startOpenAIMock, startUpstream, type TestUpstream } from '@tollgate/testkit';
import { request } from 'undici';
import { type StandaloneStack, startStandaloneStack } from '../../../e2e/src/standalone-stack.ts';

const SLOW = 60_000;
/** A bound on a request that would otherwise never return, so a regression fails instead of hanging. */
const HUNG = 30_000;

let patterns: TestUpstream;
let fallback: TestUpstream;
let provider: MockProvider;
let stack: StandaloneStack;

function manifests(): string {
  return `
apiVersion: tollgate.dev/v1alpha1
kind: Route
metadata: { name: patterns, namespace: redos }
spec:
  rules:
    - matches: [{ path: { type: RegularExpression, value: "/a(a+)+$" } }]
      backendRefs: [{ url: ${patterns.url} }]
    - matches:
        - path: { value: /h }
          headers: [{ name: x-token, type: RegularExpression, value: "(a|aa)*b" }]
        - path: { value: /q }
          queryParams: [{ name: q, type: RegularExpression, value: "(x+x+)+y" }]
      backendRefs: [{ url: ${patterns.url} }]
    - matches: [{ path: { value: / } }]
      backendRefs: [{ url: ${fallback.url} }]
---
apiVersion: v1
kind: Secret
metadata: { name: llm-key, namespace: redos }
stringData: { key: ${provider.apiKey} }
---
apiVersion: tollgate.dev/v1alpha1
kind: AIProvider
metadata: { name: llm, namespace: redos }
spec:
  type: openai-compatible
  baseURL: ${provider.baseURL}
  auth: { secretRef: { name: llm-key, key: key } }
  models: [{ name: gpt-4o-mini }]
---
apiVersion: tollgate.dev/v1alpha1
kind: Route
metadata: { name: llm, namespace: redos }
spec:
  hostnames: [llm.test]
  rules:
    - matches: [{ path: { value: /v1 } }]
      backendRefs: [{ kind: AIProvider, name: llm }]
---
apiVersion: tollgate.dev/v1alpha1
kind: Policy
metadata: { name: deny, namespace: redos }
spec:
  targetRefs: [{ kind: Route, name: llm }]
  guardrails:
    denyPatterns: ["(a+)+$"]
`;
}

beforeAll(async () => {
  [patterns, fallback, provider] = await Promise.all([
    startUpstream('patterns'),
    startUpstream('fallback'),
    startOpenAIMock(),
  ]);
  stack = await startStandaloneStack({ 'redos.yaml': manifests() });
}, SLOW);

afterAll(async () => {
  await stack?.stop();
  await Promise.allSettled([patterns?.close(), fallback?.close(), provider?.close()]);
}, SLOW);

/** Which upstream answered a GET (the echo upstreams name themselves). */
async function served(path: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await request(`${stack.gatewayUrl}${path}`, { headers, signal: AbortSignal.timeout(HUNG) });
  expect(res.statusCode).toBe(200);
  return ((await res.body.json()) as { upstream: string }).upstream;
}

async function chat(content: string): Promise<{ status: number; code: string | undefined }> {
  const res = await request(`${stack.gatewayUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { host: 'llm.test', 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] }),
    signal: AbortSignal.timeout(HUNG),
  });
  await res.body.dump();
  const code = res.headers['x-tollgate-error-code'];
  return { status: res.statusCode, code: typeof code === 'string' ? code : undefined };
}

const EVIL_A = `${'a'.repeat(64)}!`;

test(
  'routes by the patterns as written: values that match go to their rule',
  async () => {
    expect(await served('/aaaa')).toBe('patterns');
    expect(await served('/h', { 'x-token': 'aaab' })).toBe('patterns');
    expect(await served('/q?q=xxxy')).toBe('patterns');
  },
  SLOW,
);

test(
  'answers a path, a header and a query value built to backtrack, and keeps serving',
  async () => {
    expect(await served(`/a${EVIL_A}`)).toBe('fallback');
    expect(await served('/h', { 'x-token': EVIL_A })).toBe('fallback');
    expect(await served(`/q?q=${'x'.repeat(64)}!`)).toBe('fallback');
    // The same process answers the next request: nothing is still running on its event loop.
    expect(await served('/aaaa')).toBe('patterns');
    expect(stack.dataplane.child.exitCode).toBeNull();
  },
  SLOW,
);

test(
  'searches a long prompt built to backtrack for a deny pattern, passes it on, and still refuses a match',
  async () => {
    const before = provider.requests.length;
    expect(await chat(`${'a'.repeat(50_000)}!`)).toEqual({ status: 200, code: undefined });
    expect(provider.requests.length).toBe(before + 1);
    expect(await chat(`ends with ${'a'.repeat(50_000)}`)).toEqual({
      status: 400,
      code: 'TG_ERR_GUARDRAIL_DENIED_PATTERN',
    });
    expect(provider.requests.length).toBe(before + 1);
  },
  SLOW,
);
