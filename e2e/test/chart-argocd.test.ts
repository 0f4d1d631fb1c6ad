// The Argo CD health check that docs/install.md tells users to paste into argocd-cm, run by a real
// Lua VM (5.4; the script keeps to what Argo CD's Lua 5.1 also runs) on the statuses the controller
// writes: the documented snippet is the tested one.
import { type LuaEngine, LuaFactory } from 'wasmoon';
import { documentedHealthConfigMap, luaLiteral } from '../src/journeys/argocd.ts';

const KINDS = ['Route', 'AIProvider', 'Consumer', 'Policy'];
let script: string;
let lua: LuaEngine;

async function health(obj: unknown): Promise<{ status: string; message: string }> {
  return (await lua.doString(`obj = ${luaLiteral(obj)}\n${script}`)) as { status: string; message: string };
}

const condition = (
  type: string,
  status: string,
  reason: string,
  message: string,
  observedGeneration = 3,
) => ({
  type,
  status,
  reason,
  message,
  observedGeneration,
  lastTransitionTime: '2026-01-01T00:00:00Z',
});
const accepted = condition('Accepted', 'True', 'Accepted', 'Accepted.');
const resolved = condition('ResolvedRefs', 'True', 'ResolvedRefs', 'All references resolved.');
const programmed = condition(
  'Programmed',
  'True',
  'Programmed',
  'In snapshot 1a2b3c4d5e6f7a8b; 3 of 3 data planes run it.',
);
const route = (conditions?: unknown[], generation = 3) => ({
  apiVersion: 'tollgate.dev/v1alpha1',
  kind: 'Route',
  metadata: { name: 'shop', namespace: 'demo', generation },
  ...(conditions ? { status: { conditions } } : {}),
});

beforeAll(async () => {
  const configMap = documentedHealthConfigMap();
  const scripts = KINDS.map((kind) => configMap.data[`resource.customizations.health.tollgate.dev_${kind}`]);
  expect(scripts.every((s) => typeof s === 'string' && s.includes('return hs'))).toBe(true);
  expect(new Set(scripts).size).toBe(1);
  script = scripts[0]!;
  lua = await new LuaFactory().createEngine();
});

afterAll(() => lua?.global.close());

test('the documented ConfigMap configures the same check for all four Tollgate kinds', async () => {
  const configMap = documentedHealthConfigMap();
  expect(Object.keys(configMap.data).sort()).toEqual(
    KINDS.map((kind) => `resource.customizations.health.tollgate.dev_${kind}`).sort(),
  );
});

test('an object the controller has not processed yet is Progressing', async () => {
  expect(await health(route())).toEqual({
    status: 'Progressing',
    message: 'Waiting for the Tollgate controller',
  });
  expect((await health(route([accepted, resolved, programmed], 4))).status).toBe('Progressing');
  expect((await health(route([accepted, resolved, programmed], 4))).message).toContain('generation 4');
});

test('an accepted object every data plane runs is Healthy, with the rollout message', async () => {
  expect(await health(route([accepted, resolved, programmed]))).toEqual({
    status: 'Healthy',
    message: 'In snapshot 1a2b3c4d5e6f7a8b; 3 of 3 data planes run it.',
  });
});

test('a refused object is Degraded with the condition’s reason and message', async () => {
  const invalid = condition(
    'Accepted',
    'False',
    'Invalid',
    'spec.rules[0].matches[0].path.value: must start with "/"',
  );
  const notProgrammed = condition(
    'Programmed',
    'False',
    'NotAccepted',
    'Not in any snapshot: see the Accepted condition.',
  );
  expect(await health(route([invalid, notProgrammed]))).toEqual({
    status: 'Degraded',
    message: 'Accepted is False (Invalid): spec.rules[0].matches[0].path.value: must start with "/"',
  });
});

test('a missing backend is Degraded even though the Route is accepted', async () => {
  const missing = condition(
    'ResolvedRefs',
    'False',
    'BackendNotFound',
    'spec.rules[0].backendRefs[0]: Service demo/orders not found',
  );
  expect(await health(route([accepted, missing, programmed]))).toEqual({
    status: 'Degraded',
    message:
      'ResolvedRefs is False (BackendNotFound): spec.rules[0].backendRefs[0]: Service demo/orders not found',
  });
});

test('a snapshot a data plane rejected is Degraded; one still rolling out is Progressing', async () => {
  const rejected = condition(
    'Programmed',
    'False',
    'Rejected',
    'Snapshot 1a2b was rejected by 1 data plane(s); dp-0: bad regex',
  );
  expect(await health(route([accepted, resolved, rejected]))).toMatchObject({ status: 'Degraded' });
  const pending = condition(
    'Programmed',
    'Unknown',
    'Pending',
    'In snapshot 1a2b; 1 of 3 data planes run it.',
  );
  expect(await health(route([accepted, resolved, pending]))).toEqual({
    status: 'Progressing',
    message: 'In snapshot 1a2b; 1 of 3 data planes run it.',
  });
  const alone = condition(
    'Programmed',
    'Unknown',
    'NoDataPlanes',
    'In snapshot 1a2b; no data plane is connected.',
  );
  expect(await health(route([accepted, resolved, alone]))).toMatchObject({ status: 'Progressing' });
});

test('a Policy takes the worst verdict over its targets, naming them', async () => {
  const policy = (ancestors: unknown[]) => ({
    apiVersion: 'tollgate.dev/v1alpha1',
    kind: 'Policy',
    metadata: { name: 'limits', namespace: 'demo', generation: 3 },
    status: { ancestors },
  });
  const ancestor = (name: string, conditions: unknown[]) => ({
    ancestorRef: { group: 'tollgate.dev', kind: 'Route', name },
    controllerName: 'tollgate.dev/controller',
    conditions,
  });
  const conflicted = condition('Accepted', 'False', 'Conflicted', 'A more specific Policy sets rateLimits.');
  expect(await health(policy([ancestor('a', [accepted, programmed]), ancestor('b', [conflicted])]))).toEqual({
    status: 'Degraded',
    message: 'Route/b: Accepted is False (Conflicted): A more specific Policy sets rateLimits.',
  });
  expect(
    (await health(policy([ancestor('a', [accepted, programmed]), ancestor('b', [accepted, programmed])])))
      .status,
  ).toBe('Healthy');
  expect((await health(policy([]))).status).toBe('Progressing');
});
