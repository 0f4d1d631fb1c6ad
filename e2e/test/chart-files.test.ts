// Invariants of the chart's files and of the two images, checked without building anything: the
// chart's CRDs are the generated ones, and each Dockerfile is multi-stage, pinned to the project's
// Node and pnpm, runs as a numeric non-root user, ships no secrets and starts the right entrypoint.
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { type DockerStage, lastOf, parseDockerfile } from '../src/chart/dockerfile.ts';
import { dockerContextFilter } from '../src/chart/image.ts';
import { crdCopyDifferences, repoRoot } from '../src/chart/index.ts';

const COMPONENTS = ['controller', 'dataplane'] as const;

async function toolchainPins(): Promise<{ node: string; pnpm: string }> {
  const script = await readFile(path.join(repoRoot, 'scripts/toolchain.sh'), 'utf8');
  const pin = (name: string): string => {
    const match = new RegExp(`^${name}="([^"]+)"`, 'm').exec(script);
    if (!match) throw new Error(`scripts/toolchain.sh has no ${name}`);
    return match[1]!;
  };
  return { node: pin('TOLLGATE_NODE_VERSION'), pnpm: pin('TOLLGATE_PNPM_VERSION') };
}

async function stagesOf(component: string): Promise<DockerStage[]> {
  return parseDockerfile(await readFile(path.join(repoRoot, component, 'Dockerfile'), 'utf8'));
}

/** Workspace packages a component depends on at run time, transitively (directories). */
async function workspaceClosure(component: string): Promise<string[]> {
  const manifests = new Map<string, { dir: string; dependencies: Record<string, string> }>();
  const packages = (await readdir(path.join(repoRoot, 'packages'))).map((p) => `packages/${p}`);
  for (const dir of ['controller', 'dataplane', ...packages]) {
    const file = path.join(repoRoot, dir, 'package.json');
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(await readFile(file, 'utf8')) as {
      name: string;
      dependencies?: Record<string, string>;
    };
    manifests.set(pkg.name, { dir, dependencies: pkg.dependencies ?? {} });
  }
  const seen = new Set<string>();
  const visit = (name: string): void => {
    const manifest = manifests.get(name);
    if (!manifest || seen.has(manifest.dir)) return;
    seen.add(manifest.dir);
    for (const [dep, spec] of Object.entries(manifest.dependencies))
      if (spec.startsWith('workspace:')) visit(dep);
  };
  visit(`@tollgate/${component}`);
  return [...seen].sort();
}

test('charts/tollgate/crds holds the generated crds/, each file a YAML document of its own', async () => {
  const differences = await crdCopyDifferences();
  if (differences.length > 0) {
    throw new Error(
      `charts/tollgate/crds/ is out of date; run \`scripts/toolchain.sh node e2e/src/chart/sync-crds.ts\`:\n  ${differences.join('\n  ')}`,
    );
  }
});

test('the chart’s appVersion is the version of both components’ packages', async () => {
  const chart = parse(await readFile(path.join(repoRoot, 'charts/tollgate/Chart.yaml'), 'utf8')) as {
    appVersion: string;
  };
  for (const component of COMPONENTS) {
    const pkg = JSON.parse(await readFile(path.join(repoRoot, component, 'package.json'), 'utf8')) as {
      version: string;
    };
    expect({ component, version: pkg.version }).toEqual({ component, version: chart.appVersion });
  }
});

describe.each(COMPONENTS)('%s/Dockerfile', (component) => {
  test('builds in a separate stage from the runtime stage', async () => {
    const stages = await stagesOf(component);
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const runtime = stages.at(-1)!;
    expect(runtime.name).toBeUndefined();
    const copies = runtime.instructions.filter((i) => i.keyword === 'COPY');
    expect(copies.length).toBeGreaterThan(0);
    // The runtime stage takes files only from the build stage, never straight from the context.
    for (const copy of copies) expect(copy.flags.from).toBe(stages[0]!.name);
  });

  test('uses the Node.js and pnpm versions scripts/toolchain.sh pins', async () => {
    const pins = await toolchainPins();
    const stages = await stagesOf(component);
    for (const stage of stages) {
      expect(stage.image).toBe('node');
      expect(stage.tag).toMatch(new RegExp(`^${pins.node.replaceAll('.', '\\.')}-(bookworm|trixie)-slim$`));
    }
    const pnpmArg = stages[0]!.instructions.find(
      (i) => i.keyword === 'ARG' && i.args[0]?.startsWith('PNPM_VERSION='),
    );
    expect(pnpmArg?.args[0]).toBe(`PNPM_VERSION=${pins.pnpm}`);
    const root = JSON.parse(await readFile(path.join(repoRoot, 'package.json'), 'utf8')) as {
      packageManager: string;
    };
    expect(root.packageManager).toBe(`pnpm@${pins.pnpm}`);
  });

  test('runs as a numeric non-root user', async () => {
    const runtime = (await stagesOf(component)).at(-1)!;
    const user = lastOf(runtime, 'USER')?.args[0];
    expect(user).toMatch(/^\d+(:\d+)?$/);
    expect(Number(user!.split(':')[0])).toBeGreaterThan(0);
    // The chart's pod securityContext runs as the same user.
    const values = parse(
      await readFile(path.join(repoRoot, 'charts/tollgate/values.yaml'), 'utf8'),
    ) as Record<string, { podSecurityContext: { runAsUser: number; runAsGroup: number } }>;
    const pod = values[component]!.podSecurityContext;
    expect(`${pod.runAsUser}:${pod.runAsGroup}`).toBe(user);
  });

  test('starts node on the component’s main.ts (the data plane: its bundle, built from it) and stops on SIGTERM', async () => {
    const runtime = (await stagesOf(component)).at(-1)!;
    const entrypoint = lastOf(runtime, 'ENTRYPOINT')?.json;
    if (component === 'dataplane') {
      expect(entrypoint).toEqual(['node', 'dataplane/dist/main.js']);
      const build = (await stagesOf(component))[0]!;
      expect(
        build.instructions.some(
          (i) => i.keyword === 'RUN' && i.args.join(' ') === 'node scripts/build-dataplane.ts',
        ),
      ).toBe(true);
      expect(existsSync(path.join(repoRoot, 'scripts/build-dataplane.ts'))).toBe(true);
    } else {
      expect(entrypoint).toEqual(['node', `${component}/src/main.ts`]);
      expect(existsSync(path.join(repoRoot, entrypoint![1]!))).toBe(true);
    }
    expect(lastOf(runtime, 'WORKDIR')?.args).toEqual(['/app']);
    expect(lastOf(runtime, 'STOPSIGNAL')?.args).toEqual(['SIGTERM']);
    expect(lastOf(runtime, 'ENV')?.args).toContain('NODE_ENV=production');
  });

  test('exposes the ports the chart’s defaults use', async () => {
    const runtime = (await stagesOf(component)).at(-1)!;
    const values = parse(
      await readFile(path.join(repoRoot, 'charts/tollgate/values.yaml'), 'utf8'),
    ) as Record<string, Record<string, unknown>>;
    const ports =
      component === 'controller'
        ? [values.controller!.grpcPort, values.controller!.adminPort]
        : [values.dataplane!.httpPort, values.dataplane!.adminPort];
    expect(lastOf(runtime, 'EXPOSE')?.args).toEqual(ports.map(String));
  });

  test('installs production dependencies of this component and the workspace packages it imports, from the lockfile', async () => {
    const build = (await stagesOf(component))[0]!;
    const install = build.instructions.find((i) => i.keyword === 'RUN' && i.args[0] === 'pnpm');
    expect(install?.args).toEqual(
      expect.arrayContaining(['install', '--frozen-lockfile', '--filter', `@tollgate/${component}...`]),
    );
    // The controller runs its sources: production dependencies only. The data plane's build stage
    // also needs the bundler; its runtime stage takes the bundle alone (the image test checks that).
    if (component === 'controller') expect(install?.args).toContain('--prod');
    // Every workspace package the component imports is in the build context and copied in.
    const copied = build.instructions
      .filter((i) => i.keyword === 'COPY')
      .flatMap((i) => i.args.slice(0, -1).map((a) => a.replace(/\/$/, '')));
    const included = await dockerContextFilter();
    for (const dir of await workspaceClosure(component)) {
      expect({ dir, copied: copied.some((c) => dir === c || dir.startsWith(`${c}/`)) }).toEqual({
        dir,
        copied: true,
      });
      expect({ dir, inContext: included(`${dir}/src/index.ts`) }).toEqual({ dir, inContext: true });
    }
    for (const file of ['package.json', 'pnpm-lock.yaml', 'pnpm-workspace.yaml'])
      expect(copied).toContain(file);
  });

  test('carries no secrets: no credential-like ARG or ENV, no registry token in .npmrc', async () => {
    for (const stage of await stagesOf(component)) {
      for (const instruction of stage.instructions.filter(
        (i) => i.keyword === 'ARG' || i.keyword === 'ENV',
      )) {
        for (const pair of instruction.args) {
          expect(pair.split('=')[0]).not.toMatch(/SECRET|TOKEN|PASSWORD|PASSWD|API_?KEY|CREDENTIAL|AUTH/i);
        }
      }
    }
    expect(await readFile(path.join(repoRoot, '.npmrc'), 'utf8')).not.toMatch(/_auth|_password|token/i);
  });
});

test('.dockerignore keeps local installs, VCS data, tests and credentials out of the build context', async () => {
  const included = await dockerContextFilter();
  const out = [
    'node_modules/zod/index.js',
    'controller/node_modules/.bin/x',
    '.git/config',
    'controller/test/translate/a.test.ts',
    'dataplane/test/router.test.ts',
    'packages/api/test/schemas.test.ts',
    '.env',
    'controller/.env.local',
    'certs/tls.key',
    'charts/tollgate/values.yaml',
    'e2e/test/chart.test.ts',
  ];
  const kept = [
    'package.json',
    'pnpm-lock.yaml',
    'pnpm-workspace.yaml',
    '.npmrc',
    'controller/src/main.ts',
    'controller/package.json',
    'dataplane/src/main.ts',
    'dataplane/package.json',
    'packages/api/src/index.ts',
    'packages/snapshot/src/index.ts',
  ];
  expect(out.filter(included)).toEqual([]);
  expect(kept.filter((p) => !included(p))).toEqual([]);
});
