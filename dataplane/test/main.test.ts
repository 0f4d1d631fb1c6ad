// The data-plane process: flags, startup line, a snapshot from a (fake) controller over real gRPC,
// and a SIGTERM that lets an in-flight request finish before exiting 0.
import path from 'node:path';
import { freePort, startProcess, stopAllProcesses, type TestUpstream, waitFor } from '@tollgate/testkit';
import { request } from 'undici';
import {
  catchAllSnapshot,
  type SnapshotController,
  startDelayedUpstream,
  startMainProcess,
  startSnapshotController,
} from './process-fixtures.ts';

const main = path.resolve(import.meta.dirname, '../src/main.ts');

let upstream: TestUpstream;
let controller: SnapshotController;
let controllerPort: number;

beforeAll(async () => {
  upstream = await startDelayedUpstream({ 'x-upstream': 'slow' });
  controller = await startSnapshotController(catchAllSnapshot(upstream));
  controllerPort = controller.port;
});

afterAll(async () => {
  await stopAllProcesses();
  controller?.close();
  await upstream?.close();
});

async function startDataplaneProcess(controllerAddress: string) {
  const started = await startMainProcess({
    controller: controllerAddress,
    nodeId: 'test-node',
    name: 'dataplane',
  });
  const line = await started.proc.waitForOutput(/data plane listening/);
  return { ...started, startup: JSON.parse(line) as Record<string, unknown> };
}

test('starts, logs one listening line, and is not ready while the controller is unreachable', async () => {
  const { proc, port, adminPort, startup } = await startDataplaneProcess(`127.0.0.1:${await freePort()}`);
  expect(startup).toMatchObject({ msg: 'data plane listening', port, adminPort, nodeId: 'test-node' });
  expect((await request(`http://127.0.0.1:${adminPort}/healthz`)).statusCode).toBe(200);
  expect((await request(`http://127.0.0.1:${adminPort}/readyz`)).statusCode).toBe(503);
  expect(await proc.stop('SIGTERM')).toBe(0);
});

test('applies the snapshot the controller sends, ACKs it, and serves traffic', async () => {
  const { proc, port, adminPort } = await startDataplaneProcess(`127.0.0.1:${controllerPort}`);
  await waitFor(async () => (await request(`http://127.0.0.1:${adminPort}/readyz`)).statusCode === 200, {
    what: 'ready',
  });
  const response = await request(`http://127.0.0.1:${port}/hello`);
  expect(response.statusCode).toBe(200);
  expect(await response.body.text()).toBe('finished');
  await waitFor(() => controller.acks.length > 0, { what: 'an ACK' });
  expect(await proc.stop('SIGTERM')).toBe(0);
});

test('SIGTERM lets an in-flight request finish, then exits 0', async () => {
  const { proc, port, adminPort } = await startDataplaneProcess(`127.0.0.1:${controllerPort}`);
  await waitFor(async () => (await request(`http://127.0.0.1:${adminPort}/readyz`)).statusCode === 200, {
    what: 'ready',
  });
  const slow = request(`http://127.0.0.1:${port}/slow?delay=800`);
  await waitFor(() => upstream.requests.some((r) => r.url === '/slow?delay=800'), {
    what: 'request at the upstream',
  });
  const exited = proc.stop('SIGTERM', 15_000);
  await proc.waitForOutput(/shutting down/);
  expect((await request(`http://127.0.0.1:${adminPort}/readyz`)).statusCode).toBe(503);
  const response = await slow;
  expect(response.statusCode).toBe(200);
  expect(await response.body.text()).toBe('finished');
  expect(await exited).toBe(0);
});

test('exits 1 with a clear message on a malformed flag', async () => {
  const proc = startProcess(process.execPath, [main, '--listen', 'nonsense'], { name: 'dataplane-bad-flag' });
  await waitFor(() => proc.child.exitCode !== null, { what: 'the process to exit' });
  expect(proc.child.exitCode).toBe(1);
  expect(proc.output()).toContain('--listen must be host:port, got "nonsense"');
  await proc.stop();
});
