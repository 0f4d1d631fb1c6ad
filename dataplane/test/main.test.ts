// The data-plane process: flags, startup line, a snapshot from a (fake) controller over real gRPC,
// and a SIGTERM that lets an in-flight request finish before exiting 0.
import path from 'node:path';
import { Server, ServerCredentials, type ServerDuplexStream } from '@grpc/grpc-js';
import {
  type ConfigRequest,
  type ConfigResponse,
  configDiscoveryDefinition,
  configResponse,
  encodeSnapshot,
  SNAPSHOT_ENCODING,
} from '@tollgate/snapshot';
import {
  freePort,
  startProcess,
  startUpstream,
  stopAllProcesses,
  type TestUpstream,
  waitFor,
} from '@tollgate/testkit';
import { request } from 'undici';
import { cluster, entry, snapshotOf } from './helpers.ts';

const main = path.resolve(import.meta.dirname, '../src/main.ts');

let upstream: TestUpstream;
let controller: Server;
let controllerPort: number;
const acks: string[] = [];

beforeAll(async () => {
  upstream = await startUpstream('slow', (req, res) => {
    const delay = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('delay') ?? 0);
    setTimeout(() => {
      res.writeHead(200, { 'x-upstream': 'slow' });
      res.end('finished');
    }, delay);
  });
  const snapshot = snapshotOf({ '*': [entry('app', { backends: [['slow', 1]] })] }, [
    cluster('slow', [upstream.port]),
  ]);
  // A minimal controller: answers the first request of each stream with the snapshot, records ACKs.
  controller = new Server();
  controller.addService(configDiscoveryDefinition, {
    streamConfig: (call: ServerDuplexStream<ConfigRequest, ConfigResponse>) => {
      let sent = false;
      call.on('data', (message: ConfigRequest) => {
        if (message.responseNonce) acks.push(message.versionInfo);
        if (sent) return;
        sent = true;
        call.write(
          configResponse({
            versionInfo: snapshot.version,
            nonce: 'n1',
            snapshot: encodeSnapshot(snapshot),
            encoding: SNAPSHOT_ENCODING,
          }),
        );
      });
      call.on('error', () => {});
      call.on('end', () => call.end());
    },
  });
  controllerPort = await new Promise<number>((resolve, reject) =>
    controller.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, port) =>
      error ? reject(error) : resolve(port),
    ),
  );
});

afterAll(async () => {
  await stopAllProcesses();
  controller?.forceShutdown();
  await upstream?.close();
});

async function startDataplaneProcess(controllerAddress: string) {
  const [port, adminPort] = await Promise.all([freePort(), freePort()]);
  const proc = startProcess(
    process.execPath,
    [
      main,
      '--listen',
      `127.0.0.1:${port}`,
      '--admin',
      `127.0.0.1:${adminPort}`,
      '--controller',
      controllerAddress,
      '--node-id',
      'test-node',
    ],
    { name: 'dataplane', env: { TOLLGATE_DRAIN_SECONDS: '10' } },
  );
  const line = await proc.waitForOutput(/data plane listening/);
  return { proc, port, adminPort, startup: JSON.parse(line) as Record<string, unknown> };
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
  await waitFor(() => acks.length > 0, { what: 'an ACK' });
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
