// The built data plane (scripts/build-dataplane.ts: what the image runs): built into a directory
// laid out as the image has it (dataplane/dist and dataplane/package.json, no node_modules), it
// starts, takes a snapshot over real gRPC, proxies a request, runs `--workers 2`, and loads the
// OpenTelemetry SDK when tracing is on; its tokenizer (the rank table rewritten as JSON) encodes as
// gpt-tokenizer does.
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { stopAllProcesses, type TestUpstream, waitFor } from '@tollgate/testkit';
import { encode } from 'gpt-tokenizer/encoding/o200k_base';
import { request } from 'undici';
import {
  catchAllSnapshot,
  type SnapshotController,
  startDelayedUpstream,
  startMainProcess,
  startSnapshotController,
} from './process-fixtures.ts';

const repo = path.resolve(import.meta.dirname, '../..');
const SLOW = 90_000;

let app: string;
let upstream: TestUpstream;
let controller: SnapshotController;

beforeAll(async () => {
  app = mkdtempSync(path.join(tmpdir(), 'tollgate-bundle-'));
  mkdirSync(path.join(app, 'dataplane'));
  copyFileSync(path.join(repo, 'dataplane/package.json'), path.join(app, 'dataplane/package.json'));
  await promisify(execFile)(
    process.execPath,
    [path.join(repo, 'scripts/build-dataplane.ts'), '--outdir', path.join(app, 'dataplane/dist')],
    { cwd: repo },
  );
  upstream = await startDelayedUpstream({ 'x-upstream': 'slow' });
  controller = await startSnapshotController(catchAllSnapshot(upstream));
}, SLOW);

afterAll(async () => {
  await stopAllProcesses();
  controller?.close();
  await upstream?.close();
  if (app) rmSync(app, { recursive: true, force: true });
});

function startBuilt(nodeId: string, args: string[] = [], env: Record<string, string> = {}) {
  return startMainProcess({
    controller: `127.0.0.1:${controller.port}`,
    nodeId,
    name: nodeId,
    args,
    entry: 'dataplane/dist/main.js',
    cwd: app,
    env: { TOLLGATE_DRAIN_SECONDS: '2', ...env },
  });
}

const acked = (node: string) => controller.acks.some((ack) => ack.node === node);

async function proxied(port: number): Promise<{ status: number; upstream: unknown; body: string }> {
  const res = await request(`http://127.0.0.1:${port}/anything`);
  return { status: res.statusCode, upstream: res.headers['x-upstream'], body: await res.body.text() };
}

test(
  'the built data plane starts, takes a snapshot over gRPC and proxies a request',
  async () => {
    const { proc, port, adminPort } = await startBuilt('bundle-single');
    const line = await proc.waitForOutput(/data plane listening/, 30_000);
    expect(JSON.parse(line)).toMatchObject({ port, adminPort, nodeId: 'bundle-single' });
    await waitFor(() => acked('bundle-single'), { what: 'the ACK of bundle-single', timeoutMs: 30_000 });
    await waitFor(async () => (await fetch(`http://127.0.0.1:${adminPort}/readyz`)).ok, {
      what: 'bundle-single ready',
    });
    expect(await proxied(port)).toEqual({ status: 200, upstream: 'slow', body: 'finished' });
    expect(await proc.stop('SIGTERM', 15_000)).toBe(0);
  },
  SLOW,
);

test(
  'the built data plane runs --workers 2: both workers take the snapshot and serve',
  async () => {
    const { proc, port, adminPort } = await startBuilt('bundle-workers', [
      '--workers',
      '2',
      '--allow-per-worker-counters',
    ]);
    await waitFor(() => acked('bundle-workers-w1') && acked('bundle-workers-w2'), {
      what: 'the ACKs of both workers',
      timeoutMs: 60_000,
    });
    await waitFor(async () => (await fetch(`http://127.0.0.1:${adminPort}/readyz`)).ok, {
      what: 'every worker ready',
      timeoutMs: 30_000,
    });
    expect(await proxied(port)).toEqual({ status: 200, upstream: 'slow', body: 'finished' });
    expect(await proc.stop('SIGTERM', 15_000)).toBe(0);
  },
  SLOW,
);

test(
  'the built data plane loads the OpenTelemetry SDK when tracing is on',
  async () => {
    const { proc } = await startBuilt('bundle-tracing', [], { OTEL_TRACES_EXPORTER: 'console' });
    const line = await proc.waitForOutput(/"msg":"tracing"/, 30_000);
    expect(JSON.parse(line)).toMatchObject({ tracing: true });
    await proc.waitForOutput(/data plane listening/, 30_000);
    expect(await proc.stop('SIGTERM', 15_000)).toBe(0);
  },
  SLOW,
);

test('the built tokenizer encodes exactly as gpt-tokenizer does', async () => {
  const chunks = path.join(app, 'dataplane/dist');
  const chunk = readdirSync(chunks).find((f) => /^o200k_base-.*\.js$/.test(f));
  expect(chunk).toBeDefined();
  const texts = [
    'Hello, world!',
    'ça va? 你好 👋🏽',
    'def f(x):\n    return x ** 2\n',
    ' antidisestablishment',
  ];
  const script =
    `const m = await import(${JSON.stringify(pathToFileURL(path.join(chunks, chunk!)).href)});` +
    `process.stdout.write(JSON.stringify(${JSON.stringify(texts)}.map((t) => m.encode(t))));`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script]);
  expect(JSON.parse(stdout)).toEqual(texts.map((t) => encode(t)));
});
