// Journey 8, "Run it with GitOps", as far as a machine without Argo CD goes: the manifests are
// synced the way Argo CD syncs with `ServerSideApply=true` (server-side apply under Argo CD's field
// manager), the real controller writes their status, and the health check docs/install.md ships
// for argocd-cm (run by a real Lua VM) reads the objects exactly as the API server stores them:
// Degraded with the condition's message while the documented Route's Service is missing, Healthy
// once it exists. A sync repeated over the controller's status writes changes nothing and meets
// no conflict, so Argo CD shows the app Synced rather than fighting the controller.
import { waitFor } from '@tollgate/testkit';
import { type ArgoHealth, type ArgoHealthCheck, startArgoHealthCheck } from '../src/journeys/argocd.ts';
import { type JourneyCluster, startJourneyCluster } from '../src/journeys/cluster.ts';
import { docsObjects, find, toYaml } from '../src/journeys/docs.ts';

const SLOW = 20 * 60_000; // the first run on a new machine builds the binaries
const TEST = 60_000;

let journey: JourneyCluster;
let argo: ArgoHealthCheck;

/** What an Argo CD sync with ServerSideApply=true sends: the manifests from Git, applied server-side. */
async function sync(yaml: string): Promise<string> {
  return journey.cluster.kubectlOk(
    ['apply', '--server-side', '--field-manager=argocd-controller', '-f', '-'],
    {
      input: yaml,
    },
  );
}

async function stored(
  kind: string,
  name: string,
): Promise<{ kind: string; metadata: { resourceVersion: string } }> {
  return JSON.parse(await journey.cluster.kubectlOk(['get', kind, name, '-n', 'default', '-o', 'json']));
}

/** Waits for Argo CD's verdict on the stored object to be `status` (the controller works asynchronously). */
async function healthBecomes(kind: string, name: string, status: string): Promise<ArgoHealth> {
  let last: ArgoHealth | undefined;
  try {
    return await waitFor(
      async () => {
        last = await argo.health(await stored(kind, name));
        return last.status === status ? last : undefined;
      },
      { what: `${kind} ${name} to be ${status} in Argo CD`, timeoutMs: 20_000, intervalMs: 200 },
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; last verdict ${JSON.stringify(last)}`);
  }
}

const helloService = `
apiVersion: v1
kind: Service
metadata: { name: hello, namespace: default }
spec:
  ports: [{ name: http, port: 8080, targetPort: 8080 }]
`;

beforeAll(async () => {
  journey = await startJourneyCluster(['default']);
  argo = await startArgoHealthCheck();
}, SLOW);

afterAll(async () => {
  argo?.close();
  await journey?.stop();
}, TEST);

test(
  'the documented Route is Degraded with the condition’s message while its Service is missing, Healthy once it exists',
  async () => {
    const route = find(docsObjects('install.md', 'Install'), 'Route', 'hello');
    expect(await sync(toYaml([route]))).toMatch(/route\.tollgate\.dev\/hello serverside-applied/);
    const degraded = await healthBecomes('route', 'hello', 'Degraded');
    expect(degraded.message).toMatch(
      /^ResolvedRefs is False \(BackendNotFound\): .*Service "hello" not found/,
    );

    await sync(helloService);
    const healthy = await healthBecomes('route', 'hello', 'Healthy');
    expect(healthy.message).toMatch(/data plane/);
  },
  TEST,
);

test(
  'syncing again over the controller’s status changes nothing and meets no conflict',
  async () => {
    const route = find(docsObjects('install.md', 'Install'), 'Route', 'hello');
    const before = await stored('route', 'hello');
    // Without --force-conflicts: a conflict (a field the controller took over) would fail the sync.
    expect(await sync(toYaml([route]))).toMatch(/route\.tollgate\.dev\/hello serverside-applied/);
    const after = await stored('route', 'hello');
    expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    expect((await argo.health(after)).status).toBe('Healthy');
  },
  TEST,
);
