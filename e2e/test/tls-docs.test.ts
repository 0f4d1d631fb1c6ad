// docs/traffic.md's TLS, HTTP/2, WebSockets, Compression and Response cache manifests work as-is:
// the translator accepts every object, and the snapshot carries what the text promises.
import { translateDocs } from '../src/docs-translate.ts';
import { docsPageObjects, docsYaml, yamlObjects } from '../src/journeys/docs.ts';

const SECTIONS = ['TLS', 'HTTP/2 and gRPC', 'WebSockets', 'Compression', 'Response cache'];

/** The yaml blocks under our `## ` headings (the rest of the page belongs to other sections). */
const sectionManifests = () => yamlObjects(docsYaml('traffic.md', ...SECTIONS));

test("docs/traffic.md's protocol and response-handling manifests are accepted and compile as documented", async () => {
  const { snapshot, statuses, problems } = translateDocs(sectionManifests());
  expect(problems).toEqual([]);
  expect(statuses.map((s) => `${s.ref.kind}/${s.ref.name}`).sort()).toEqual([
    'Policy/shop-cache',
    'Policy/shop-compression',
    'Route/chat',
    'Route/shop',
  ]);
  expect(snapshot.tls?.hosts).toEqual([
    { hostname: '*.shop.example.com', certificateId: 'secret/default/shop-tls' },
    { hostname: 'shop.example.com', certificateId: 'secret/default/shop-tls' },
  ]);
  expect(snapshot.tls?.certificates[0]?.dnsNames).toEqual(['shop.example.com', '*.shop.example.com']);
  const shop = snapshot.virtualHosts.find((h) => h.hostname === 'shop.example.com')?.routes[0];
  expect(shop?.edge?.compression).toEqual({
    from: 'policy/default/shop-compression',
    algorithms: ['br', 'gzip'],
    minBytes: 1024,
    contentTypes: ['text/*', 'application/json', 'application/javascript', 'image/svg+xml'],
  });
  expect(shop?.edge?.cache).toEqual({
    from: 'policy/default/shop-cache',
    ttlMs: 300_000,
    maxEntryBytes: 1_048_576,
    perConsumer: false,
  });
});

test("docs/policies.md's edge protections compile onto the routes they target", async () => {
  const { snapshot, statuses } = translateDocs(docsPageObjects('policies.md'));
  const edgePolicies = statuses.filter(
    (s) => s.ref.kind === 'Policy' && ['edge', 'orders-cors'].includes(s.ref.name),
  );
  expect(edgePolicies.flatMap((s) => s.conditions.map((c) => c.status))).toEqual([
    'True',
    'True',
    'True',
    'True',
  ]);
  const entries = snapshot.virtualHosts.flatMap((h) => h.routes);
  const orders = entries.find((e) => e.route.name === 'orders')?.edge;
  expect(orders?.cors).toMatchObject({
    from: 'policy/default/orders-cors',
    allowOrigins: ['https://shop.example.com', 'https://*.shop.example.com'],
    allowHeaders: ['content-type', 'authorization'],
    allowCredentials: true,
    maxAgeSeconds: 600,
  });
  expect(orders?.ipFilter?.from).toBe('policy/default/edge');
  expect(orders?.limits).toEqual({
    from: 'policy/default/edge',
    maxRequestBodyBytes: 10_485_760,
    maxRequestHeadersBytes: 16_384,
    maxRequestHeaders: 100,
  });
  // The Namespace policy reaches every route; CORS only the one it targets.
  const llm = entries.find((e) => e.route.name === 'llm')?.edge;
  expect(llm?.ipFilter?.deny).toEqual(['10.66.0.0/16']);
  expect(llm?.cors).toBeUndefined();
});
