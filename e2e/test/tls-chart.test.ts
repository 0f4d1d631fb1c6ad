// The chart's TLS listener: off by default; dataplane.httpsPort opens it (TOLLGATE_LISTEN_TLS, a
// named container port) and the gateway Service exposes it beside plain HTTP.
import {
  dig,
  findObject,
  helmTemplate,
  type K8sObject,
  type K8sTools,
  parseManifests,
  provisionK8sTools,
} from '../src/chart/index.ts';

const PROVISION_TIMEOUT = 45 * 60_000;
let tools: K8sTools;

interface Container {
  env?: Array<{ name: string; value?: string }>;
  ports?: Array<{ name: string; containerPort: number }>;
}

function dataplaneOf(objects: K8sObject[]): Container {
  return (
    dig(
      findObject(objects, 'Deployment', 'tollgate-dataplane'),
      'spec.template.spec.containers',
    ) as Container[]
  )[0]!;
}

beforeAll(async () => {
  tools = await provisionK8sTools();
}, PROVISION_TIMEOUT);

test('renders no TLS listener by default', async () => {
  const objects = parseManifests(await helmTemplate(tools, { namespace: 'tollgate-system' }));
  const container = dataplaneOf(objects);
  expect(container.env?.map((e) => e.name)).not.toContain('TOLLGATE_LISTEN_TLS');
  expect(container.ports?.map((p) => p.name)).toEqual(['http', 'admin']);
  const ports = dig(findObject(objects, 'Service', 'tollgate-dataplane'), 'spec.ports') as Array<{
    name: string;
  }>;
  expect(ports.map((p) => p.name)).toEqual(['http']);
});

test('dataplane.httpsPort opens the TLS listener and the Service exposes it on 443', async () => {
  const objects = parseManifests(
    await helmTemplate(tools, { namespace: 'tollgate-system', set: { 'dataplane.httpsPort': 8443 } }),
  );
  const container = dataplaneOf(objects);
  expect(container.env?.find((e) => e.name === 'TOLLGATE_LISTEN_TLS')?.value).toMatch(/:8443$/);
  expect(container.ports).toContainEqual(expect.objectContaining({ name: 'https', containerPort: 8443 }));
  const ports = dig(findObject(objects, 'Service', 'tollgate-dataplane'), 'spec.ports');
  expect(ports).toContainEqual(
    expect.objectContaining({ name: 'https', port: 443, targetPort: 'https', appProtocol: 'https' }),
  );
});
