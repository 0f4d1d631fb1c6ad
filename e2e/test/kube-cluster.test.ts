// The test cluster itself: a real API server that stores Tollgate objects and enforces the CRD
// schemas at admission.
import { type KubeCluster, startKubeCluster, waitFor } from '@tollgate/testkit';

const SLOW = 20 * 60_000; // the first run on a new machine builds the binaries
let cluster: KubeCluster;

beforeAll(async () => {
  cluster = await startKubeCluster();
  await cluster.installCrds();
}, SLOW);

afterAll(async () => {
  await cluster?.stop();
});

test('kubectl explain shows the descriptions the API package wrote', async () => {
  // The API server publishes a new CRD's OpenAPI a moment after it is Established.
  const text = await waitFor(() => cluster.kubectlOk(['explain', 'routes.spec.rules.backendRefs']), {
    what: 'kubectl explain to know Routes',
    timeoutMs: 30_000,
    intervalMs: 500,
  });
  expect(text).toContain('Where matching traffic is sent');
  expect(text).toMatch(/weight\s+<integer>/);
});

test('an invalid Route is refused at admission with a message that names the field', async () => {
  const result = await cluster.kubectl(['apply', '-f', '-'], {
    input: `
apiVersion: tollgate.dev/v1alpha1
kind: Route
metadata: { name: both, namespace: default }
spec:
  rules:
    - backendRefs:
        - name: orders
          port: 8080
          url: http://127.0.0.1:9000
`,
  });
  expect(result.code).not.toBe(0);
  expect(result.stderr).toContain('spec.rules[0].backendRefs[0]');
  expect(result.stderr).toContain('set exactly one of name and url');
});

test('a valid Route is stored and listed in the tollgate category', async () => {
  await cluster.kubectlOk(['apply', '-f', '-'], {
    input: `
apiVersion: tollgate.dev/v1alpha1
kind: Route
metadata: { name: ok, namespace: default }
spec:
  hostnames: [shop.example.com]
  rules:
    - backendRefs: [{ url: "http://127.0.0.1:9000" }]
`,
  });
  const listed = await cluster.kubectlOk(['get', 'tollgate', '-A']);
  expect(listed).toMatch(/route\.tollgate\.dev\/ok/);
});
