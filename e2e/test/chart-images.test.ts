// The two images' file systems, assembled from their Dockerfiles without a container engine (build
// context through .dockerignore, the real `pnpm install`, the runtime stage's copy), then started
// the way the chart starts them: the data plane from its image gets a snapshot from the controller
// from its image and proxies a request. What a Dockerfile leaves out fails here, not in a cluster.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  freePort,
  startProcess,
  startUpstream,
  stopAllProcesses,
  type TestUpstream,
  waitFor,
} from '@tollgate/testkit';
import { request } from 'undici';
import { stringify } from 'yaml';
import { type AssembledImage, assembleImage } from '../src/chart/image.ts';
import { run } from '../src/chart/index.ts';

const SLOW = 180_000;
let work: string;
const images: Record<string, AssembledImage> = {};
let upstream: TestUpstream;

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'tollgate-images-'));
  // The build's pnpm store cache stands for this machine's store, filled by `pnpm install`.
  const store = (await run('pnpm', ['store', 'path'])).stdout.trim();
  for (const component of ['controller', 'dataplane']) {
    images[component] = await assembleImage(component, path.join(work, component), store);
  }
  upstream = await startUpstream('image-upstream');
}, SLOW);

afterAll(async () => {
  await stopAllProcesses();
  await upstream?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

test('the dataplane image holds its bundle and nothing else of the repository', async () => {
  const app = images.dataplane!.workdir;
  expect((await readdir(app)).sort()).toEqual(['dataplane']);
  expect((await readdir(path.join(app, 'dataplane'))).sort()).toEqual(['dist', 'package.json']);
  expect(existsSync(path.join(app, 'dataplane/dist/main.js'))).toBe(true);
});

test.each(['controller'])(
  'the %s image holds its sources and production dependencies only',
  async (component) => {
    const app = images[component]!.workdir;
    expect(existsSync(path.join(app, component, 'src/main.ts'))).toBe(true);
    expect(existsSync(path.join(app, component, 'test'))).toBe(false);
    expect(existsSync(path.join(app, 'packages/api/test'))).toBe(false);
    const installed = await readdir(path.join(app, 'node_modules/.pnpm'));
    for (const devOnly of ['jest@', 'typescript@', '@biomejs+biome@', '@swc+core@']) {
      expect(installed.filter((p) => p.startsWith(devOnly))).toEqual([]);
    }
    // Workspace packages resolve to their sources outside node_modules (Node strips types only there).
    expect(existsSync(path.join(app, component, 'node_modules/@tollgate/snapshot/src/index.ts'))).toBe(true);
  },
);

test(
  'the images run: a data plane from its image serves a Route it got from a controller from its image',
  async () => {
    const config = path.join(work, 'manifests');
    await mkdir(config);
    await writeFile(
      path.join(config, 'route.yaml'),
      stringify({
        apiVersion: 'tollgate.dev/v1alpha1',
        kind: 'Route',
        metadata: { name: 'image-check', namespace: 'default' },
        spec: { rules: [{ backendRefs: [{ url: upstream.url }] }] },
      }),
    );
    const [grpc, controllerAdmin, gateway, dataplaneAdmin] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
      freePort(),
    ]);
    const controllerImage = images.controller!;
    const dataplaneImage = images.dataplane!;
    // The entrypoint with this machine's node (the base image's version); the chart's arguments,
    // with the file source in place of the Kubernetes one.
    expect(controllerImage.entrypoint[0]).toBe('node');
    const controller = startProcess(
      process.execPath,
      [
        ...controllerImage.entrypoint.slice(1),
        'serve',
        `--dir=${config}`,
        `--grpc=127.0.0.1:${grpc}`,
        `--admin=127.0.0.1:${controllerAdmin}`,
      ],
      {
        name: 'controller-image',
        cwd: controllerImage.workdir,
        env: { ...controllerImage.env, NODE_PATH: '' },
      },
    );
    await controller.waitForOutput(/controller ready/, 30_000);
    startProcess(process.execPath, dataplaneImage.entrypoint.slice(1), {
      name: 'dataplane-image',
      cwd: dataplaneImage.workdir,
      env: {
        ...dataplaneImage.env,
        NODE_PATH: '',
        TOLLGATE_LISTEN: `127.0.0.1:${gateway}`,
        TOLLGATE_ADMIN: `127.0.0.1:${dataplaneAdmin}`,
        TOLLGATE_CONTROLLER: `127.0.0.1:${grpc}`,
        TOLLGATE_NODE_ID: 'dataplane-image',
      },
    });
    await waitFor(
      async () => (await request(`http://127.0.0.1:${dataplaneAdmin}/readyz`)).statusCode === 200,
      {
        what: 'the data plane from its image to be ready',
        timeoutMs: 30_000,
      },
    );
    const response = await request(`http://127.0.0.1:${gateway}/anything`);
    const body = (await response.body.json()) as { upstream: string; url: string };
    expect(response.statusCode).toBe(200);
    expect(body).toMatchObject({ upstream: 'image-upstream', url: '/anything' });
  },
  SLOW,
);
