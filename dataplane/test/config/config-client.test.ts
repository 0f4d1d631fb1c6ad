// The data-plane config client against a raw stub controller on loopback.
import { gzipSync } from 'node:zlib';
import { encodeSnapshot, JSON_SNAPSHOT_ENCODING, type Snapshot } from '@tollgate/snapshot';
import { freePort, waitFor } from '@tollgate/testkit';
import { sampleSnapshot } from '../../../packages/snapshot/test/support/snapshots.ts';
import { ConfigClient, type ConfigClientOptions } from '../../src/config/index.ts';
import { captureLogger, gate } from './helpers.ts';
import { StubController } from './stub-controller.ts';

const A = sampleSnapshot('a');
const B = sampleSnapshot('b');
const C = sampleSnapshot('c');

let clients: ConfigClient[] = [];
let controllers: StubController[] = [];

afterEach(async () => {
  await Promise.all(clients.map((client) => client.stop()));
  for (const controller of controllers) controller.kill();
  clients = [];
  controllers = [];
});

async function startController(port = 0) {
  const controller = new StubController();
  controllers.push(controller);
  const bound = await controller.listen(port);
  return { controller, port: bound, address: `127.0.0.1:${bound}` };
}

function startClient(address: string, overrides: Partial<ConfigClientOptions> = {}) {
  const { logger, lines } = captureLogger();
  const applied: Snapshot[] = [];
  const client = new ConfigClient({
    address,
    node: { id: 'dp-1', zone: 'zone-a', buildVersion: '1.2.3' },
    logger,
    onSnapshot: (snapshot) => void applied.push(snapshot),
    backoff: { initialMs: 20, maxMs: 200 },
    ...overrides,
  });
  clients.push(client);
  client.start();
  return { client, applied, lines };
}

describe('ConfigClient', () => {
  it('identifies itself, applies a snapshot, and ACKs it with its nonce', async () => {
    const { controller, address } = await startController();
    const { client, applied } = startClient(address);
    const appliedEvents: string[] = [];
    client.on('applied', (version) => appliedEvents.push(version));

    const stream = await controller.nextStream();
    const hello = await stream.nextRequest();
    expect(hello.node).toEqual(
      expect.objectContaining({ id: 'dp-1', zone: 'zone-a', buildVersion: '1.2.3' }),
    );
    expect(hello.versionInfo).toBe('');
    await waitFor(() => client.connected, { what: 'connected' });

    const nonce = stream.send(A);
    const ack = await stream.nextRequest();
    expect(ack).toEqual(expect.objectContaining({ versionInfo: A.version, responseNonce: nonce }));
    expect(ack.errorDetail).toBeUndefined();
    expect(applied).toEqual([A]);
    expect(client.version).toBe(A.version);
    expect(appliedEvents).toEqual([A.version]);
  });

  it('NACKs with the error message when onSnapshot throws, and keeps running the old version', async () => {
    const { controller, address } = await startController();
    const { client } = startClient(address, {
      onSnapshot: (snapshot) => {
        if (snapshot.version === B.version) throw new Error('route default/b: regex does not compile');
      },
    });
    const rejected: Array<[string, string]> = [];
    client.on('rejected', (version, error) => rejected.push([version, error.message]));
    const stream = await controller.nextStream();
    await stream.nextRequest();
    stream.send(A);
    await stream.nextRequest();

    const nonce = stream.send(B);
    const nack = await stream.nextRequest();
    expect(nack.versionInfo).toBe(A.version);
    expect(nack.responseNonce).toBe(nonce);
    expect(nack.errorDetail?.message).toBe('route default/b: regex does not compile');
    expect(client.version).toBe(A.version);
    expect(rejected).toEqual([[B.version, 'route default/b: regex does not compile']]);
  });

  it('NACKs a payload that fails validation without calling onSnapshot', async () => {
    const { controller, address } = await startController();
    const { client, applied } = startClient(address);
    const stream = await controller.nextStream();
    await stream.nextRequest();

    const broken = { ...A, clusters: [{ id: 'x', kind: 'carrier-pigeon' }] };
    stream.send(A, { snapshot: encodeSnapshot(broken as unknown as Snapshot) });
    const nack = await stream.nextRequest();
    expect(nack.versionInfo).toBe('');
    expect(nack.errorDetail?.message).toMatch(/^snapshot failed validation/);
    expect(nack.errorDetail?.message).toContain('clusters[0].kind');

    // The one-document JSON encoding is still understood, and validated the same way.
    stream.send(A, { snapshot: gzipSync(JSON.stringify(broken)), encoding: JSON_SNAPSHOT_ENCODING });
    const jsonNack = await stream.nextRequest();
    expect(jsonNack.errorDetail?.message).toMatch(/^snapshot failed validation/);
    expect(jsonNack.errorDetail?.message).toContain('clusters[0].kind');

    stream.send(A, { encoding: 'application/yaml' });
    expect((await stream.nextRequest()).errorDetail?.message).toContain('unsupported snapshot encoding');

    stream.send(A, { versionInfo: 'not-its-version' });
    expect((await stream.nextRequest()).errorDetail?.message).toContain(
      'but the response says not-its-version',
    );
    expect(applied).toEqual([]);
    expect(client.version).toBeUndefined();
  });

  it('applies snapshots one at a time, skipping those superseded while another was being applied', async () => {
    const { controller, address } = await startController();
    const firstApply = gate();
    let active = 0;
    let maxActive = 0;
    const started: string[] = [];
    const { client, lines } = startClient(address, {
      onSnapshot: async (snapshot) => {
        active++;
        maxActive = Math.max(maxActive, active);
        started.push(snapshot.version);
        if (snapshot.version === A.version) await firstApply.promise;
        active--;
      },
    });
    const stream = await controller.nextStream();
    await stream.nextRequest();

    stream.send(A);
    await waitFor(() => started.length === 1, { what: 'A to start applying' });
    stream.send(B);
    const nonceC = stream.send(C);
    // B and C arrive while A is still being applied.
    await waitFor(() => lines().some((line) => line.msg === 'snapshot received' && line.nonce === nonceC), {
      what: 'C to arrive',
    });
    firstApply.open();

    const ackA = await stream.nextRequest();
    expect(ackA.versionInfo).toBe(A.version);
    const ackC = await stream.nextRequest();
    expect(ackC).toEqual(expect.objectContaining({ versionInfo: C.version, responseNonce: nonceC }));
    expect(started).toEqual([A.version, C.version]);
    expect(maxActive).toBe(1);
    expect(client.version).toBe(C.version);
  });

  it('re-ACKs without re-applying a snapshot whose version it already runs', async () => {
    const { controller, address } = await startController();
    const { applied } = startClient(address);
    const stream = await controller.nextStream();
    await stream.nextRequest();
    stream.send(A);
    await stream.nextRequest();
    const nonce = stream.send(A);
    expect(await stream.nextRequest()).toEqual(
      expect.objectContaining({ versionInfo: A.version, responseNonce: nonce }),
    );
    expect(applied).toHaveLength(1);
  });

  it('keeps its snapshot while the controller is down and reports it when the controller comes back on the same port', async () => {
    const first = await startController();
    const { client, applied } = startClient(first.address);
    const events: string[] = [];
    client.on('connected', () => events.push('connected'));
    client.on('disconnected', () => events.push('disconnected'));
    const stream = await first.controller.nextStream();
    await stream.nextRequest();
    stream.send(A);
    await stream.nextRequest();

    first.controller.kill();
    await waitFor(() => !client.connected && events.includes('disconnected'), { what: 'disconnect' });
    expect(client.version).toBe(A.version);
    expect(applied).toEqual([A]);

    const second = await startController(first.port);
    const again = await second.controller.nextStream();
    const hello = await again.nextRequest();
    expect(hello.node?.id).toBe('dp-1');
    expect(hello.versionInfo).toBe(A.version);
    await waitFor(() => client.connected, { what: 'reconnect' });
    expect(events).toEqual(['connected', 'disconnected', 'connected']);

    again.send(B);
    expect((await again.nextRequest()).versionInfo).toBe(B.version);
    expect(client.version).toBe(B.version);
  });

  it('keeps retrying with backoff until a controller appears', async () => {
    const port = await freePort();
    const { client, lines } = startClient(`127.0.0.1:${port}`);
    await waitFor(() => lines().filter((line) => line.code === 'TG_ERR_CONTROLLER_UNAVAILABLE').length >= 3, {
      what: 'three failed attempts',
    });
    const failures = lines().filter((line) => line.code === 'TG_ERR_CONTROLLER_UNAVAILABLE');
    expect(failures.map((line) => line.attempt)).toEqual(expect.arrayContaining([1, 2, 3]));
    for (const line of failures) expect(line.retryInMs).toBeLessThanOrEqual(200);
    expect(client.connected).toBe(false);

    const { controller } = await startController(port);
    const stream = await controller.nextStream();
    expect((await stream.nextRequest()).node?.id).toBe('dp-1');
    await waitFor(() => client.connected, { what: 'connected' });
  });

  it('closes its stream on stop and reports the disconnect', async () => {
    const { controller, address } = await startController();
    const { client } = startClient(address);
    const stream = await controller.nextStream();
    await stream.nextRequest();
    await waitFor(() => client.connected, { what: 'connected' });
    let disconnected = 0;
    client.on('disconnected', () => disconnected++);

    await client.stop();
    await stream.closed;
    expect(client.connected).toBe(false);
    expect(disconnected).toBe(1);
  });
});
