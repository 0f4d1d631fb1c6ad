// docs/traffic.md's load-balancing, health, circuit-breaking, retry and traffic-splitting
// manifests work as-is: the translator accepts every object, and the snapshot carries each knob
// the text documents.
import { translateDocs } from '../src/docs-translate.ts';
import { docsYaml, yamlObjects } from '../src/journeys/docs.ts';

const SECTIONS = [
  'Load balancing',
  'Health checks',
  'Circuit breaking',
  'Retries and timeouts',
  'Traffic splitting',
];

/** The yaml blocks under our `## ` headings (the rest of the page belongs to other sections). */
const sectionManifests = () => yamlObjects(docsYaml('traffic.md', ...SECTIONS));

test("docs/traffic.md's resilience and traffic-splitting manifests are accepted and compile as documented", async () => {
  const { snapshot, statuses, problems } = translateDocs(sectionManifests());
  expect(problems).toEqual([]);
  expect(statuses.map((s) => `${s.ref.kind}/${s.ref.name}`).sort()).toEqual([
    'Policy/catalog-balancing',
    'Policy/catalog-carts',
    'Policy/catalog-circuit',
    'Policy/catalog-health',
    'Policy/catalog-retries',
    'Route/catalog',
    'Route/checkout',
  ]);

  const catalog = snapshot.clusters.find((c) => c.id === 'service/default/catalog:80');
  expect(catalog?.resilience).toEqual({
    // The cart rule's Policy is the most specific attachment among the Routes using the Service.
    loadBalancer: {
      from: 'policy/default/catalog-carts',
      type: 'Maglev',
      hashOn: { source: 'header', name: 'x-user-id' },
      panicThresholdPercent: 50,
    },
    healthCheck: {
      from: 'policy/default/catalog-health',
      path: '/healthz',
      intervalMs: 5_000,
      timeoutMs: 1_000,
      jitterMs: 1_000,
      healthyThreshold: 2,
      unhealthyThreshold: 3,
      expectedStatuses: [200, 204],
    },
    outlierDetection: {
      from: 'policy/default/catalog-circuit',
      consecutiveErrors: 5,
      baseEjectionMs: 30_000,
      maxEjectionMs: 300_000,
      maxEjectionPercent: 50,
    },
    limits: {
      from: 'policy/default/catalog-circuit',
      maxConnections: 64,
      maxRequests: 200,
      maxPendingRequests: 50,
    },
    connectTimeoutMs: 2_000,
  });

  const entries = snapshot.virtualHosts.flatMap((h) => h.routes);
  const browse = entries.find((e) => e.route.name === 'catalog' && e.route.ruleName === 'browse');
  expect(browse?.resilience).toEqual({
    retries: {
      from: 'policy/default/catalog-retries',
      attempts: 2,
      retryOn: ['connect-failure', 'reset', 'gateway-error'],
      backoffBaseMs: 25,
      backoffMaxMs: 250,
      perTryTimeoutMs: 2_000,
      retryNonIdempotent: false,
      budgetPercent: 20,
      minRetryConcurrency: 3,
      bufferBodyLimit: 65_536,
    },
    timeouts: { from: 'policy/default/catalog-retries', requestMs: 10_000, idleMs: 30_000 },
  });

  const pay = entries.find((e) => e.route.name === 'checkout' && e.route.ruleName === 'pay');
  expect(pay?.action).toEqual({
    kind: 'forward',
    backends: [
      { clusterId: 'url/http://checkout-v1.internal:8080', weight: 90 },
      { clusterId: 'url/http://checkout-v2.internal:8080', weight: 10 },
    ],
  });
  const shop = entries.find((e) => e.route.name === 'checkout' && e.route.ruleName === 'shop');
  expect(shop?.resilience?.sessionPersistence).toEqual({
    type: 'Cookie',
    name: 'shop-version',
    maxAgeSeconds: 86_400,
  });
  expect(shop?.mirrors).toEqual(['url/http://shop-shadow.internal:8080']);
});
