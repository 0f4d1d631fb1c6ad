// The config protocol, driven at the wire by raw stub data planes against a real SnapshotServer.
import { status } from '@grpc/grpc-js';
import { decodeSnapshot, SNAPSHOT_ENCODING, type Snapshot } from '@tollgate/snapshot';
import { waitFor } from '@tollgate/testkit';
import { makeTestPki, opensslAvailable } from '../../../packages/snapshot/test/support/certs.ts';
import { largeSnapshot, sampleSnapshot } from '../../../packages/snapshot/test/support/snapshots.ts';
import { type ConnectedNode, SnapshotServer, type SnapshotServerOptions } from '../../src/server/index.ts';
import { captureLogger } from './helpers.ts';
import { StubDataPlane } from './stub-data-plane.ts';

const A = sampleSnapshot('a');
const B = sampleSnapshot('b');
const C = sampleSnapshot('c');

let servers: SnapshotServer[] = [];
let stubs: StubDataPlane[] = [];

afterEach(async () => {
  for (const stub of stubs) stub.close();
  await Promise.all(servers.map((server) => server.close(0)));
  servers = [];
  stubs = [];
});

async function startServer(options: Partial<SnapshotServerOptions> = {}) {
  const { logger, lines } = captureLogger();
  const server = new SnapshotServer({ logger, ...options });
  servers.push(server);
  const port = await server.listen('127.0.0.1', 0);
  return { server, address: `127.0.0.1:${port}`, lines };
}

function connect(
  address: string,
  ...rest: ConstructorParameters<typeof StubDataPlane> extends [string, ...infer R] ? R : never
) {
  const stub = new StubDataPlane(address, ...rest);
  stubs.push(stub);
  return stub;
}

function nodeById(server: SnapshotServer, id: string): ConnectedNode | undefined {
  return server.nodes().find((node) => node.id === id);
}

function recordEvents(server: SnapshotServer) {
  const acks: Array<[string, string]> = [];
  const nacks: Array<[string, string, string]> = [];
  server.on('ack', (node, version) => acks.push([node.id, version]));
  server.on('nack', (node, version, message) => nacks.push([node.id, version, message]));
  return { acks, nacks };
}

describe('SnapshotServer', () => {
  it('holds a stream until the first snapshot is published, then sends it', async () => {
    const { server, address } = await startServer();
    const stub = connect(address);
    stub.hello('dp-1');
    await waitFor(() => nodeById(server, 'dp-1'), { what: 'dp-1 to connect' });
    expect(server.version).toBeUndefined();

    expect(server.publish(A)).toBe(true);
    const response = await stub.next();
    expect(response.versionInfo).toBe(A.version);
    expect(response.encoding).toBe(SNAPSHOT_ENCODING);
    expect(response.nonce).not.toBe('');
    expect(decodeSnapshot(response.snapshot, response.encoding)).toEqual(A);
  });

  it('sends the current snapshot to a data plane that connects after it was published', async () => {
    const { server, address } = await startServer();
    server.publish(A);
    const stub = connect(address);
    stub.hello('late');
    const response = await stub.next();
    expect(response.versionInfo).toBe(A.version);
    expect(server.version).toBe(A.version);
  });

  it('reports the node identity and records the ACKed version', async () => {
    const { server, address } = await startServer();
    const connected: ConnectedNode[] = [];
    server.on('connect', (node) => connected.push(node));
    const events = recordEvents(server);
    server.publish(A);
    const stub = connect(address);
    stub.hello('dp-1', { zone: 'eu-west-1a' });
    stub.ack(await stub.next());
    await waitFor(() => events.acks.length === 1, { what: 'ack' });

    expect(events.acks).toEqual([['dp-1', A.version]]);
    expect(connected).toEqual([
      expect.objectContaining({ id: 'dp-1', zone: 'eu-west-1a', buildVersion: 'test' }),
    ]);
    expect(nodeById(server, 'dp-1')).toEqual(
      expect.objectContaining({
        ackedVersion: A.version,
        streamId: expect.any(Number),
        connectedAt: expect.any(Number),
      }),
    );
    expect(server.ackedCount(A.version)).toBe(1);
  });

  it('does not republish or resend an unchanged version', async () => {
    const { server, address } = await startServer();
    server.publish(A);
    const stub = connect(address);
    stub.hello('dp-1');
    const first = await stub.next();
    stub.ack(first);

    // Equal content seals to the same version, whatever object it arrives in.
    expect(server.publish(A)).toBe(false);
    expect(server.publish(sampleSnapshot('a'))).toBe(false);
    expect(server.publish(B)).toBe(true);
    // Order on the stream proves A was not sent again in between.
    const second = await stub.next();
    expect(second.versionInfo).toBe(B.version);
    expect(second.nonce).not.toBe(first.nonce);
  });

  it('ignores ACKs and NACKs whose nonce is not the latest sent on that stream', async () => {
    const { server, address } = await startServer();
    const events = recordEvents(server);
    server.publish(A);
    const stub = connect(address);
    stub.hello('dp-1');
    const responseA = await stub.next();
    server.publish(B);
    const responseB = await stub.next();

    stub.ack(responseA); // stale: B was sent since
    stub.nack(responseA, '', 'stale rejection');
    stub.send({ versionInfo: B.version, responseNonce: 'no-such-nonce' });
    stub.ack(responseB);
    await waitFor(() => events.acks.length > 0, { what: 'ack of B' });

    expect(events.acks).toEqual([['dp-1', B.version]]);
    expect(events.nacks).toEqual([]);
    expect(nodeById(server, 'dp-1')?.ackedVersion).toBe(B.version);

    // Answering the same nonce twice counts once.
    stub.ack(responseB);
    server.publish(C);
    stub.ack(await stub.next());
    await waitFor(() => events.acks.length > 1, { what: 'ack of C' });
    expect(events.acks).toEqual([
      ['dp-1', B.version],
      ['dp-1', C.version],
    ]);
  });

  it('keeps a data plane that NACKs on its old version, reports the reason, and does not resend', async () => {
    const { server, address, lines } = await startServer();
    const events = recordEvents(server);
    server.publish(A);
    const stub = connect(address);
    stub.hello('dp-1');
    stub.ack(await stub.next());
    await waitFor(() => events.acks.length === 1, { what: 'ack of A' });

    server.publish(B);
    stub.nack(await stub.next(), A.version, 'route default/b: invalid regex');
    await waitFor(() => events.nacks.length === 1, { what: 'nack of B' });

    expect(events.nacks).toEqual([['dp-1', B.version, 'route default/b: invalid regex']]);
    expect(nodeById(server, 'dp-1')).toEqual(
      expect.objectContaining({
        ackedVersion: A.version,
        lastNack: { version: B.version, message: 'route default/b: invalid regex' },
      }),
    );
    expect(server.ackedCount(A.version)).toBe(1);
    expect(server.ackedCount(B.version)).toBe(0);
    expect(lines()).toContainEqual(
      expect.objectContaining({ code: 'TG_ERR_SNAPSHOT_REJECTED', node: 'dp-1', version: B.version }),
    );

    // B is not retried: the next thing on the stream is the next version.
    server.publish(C);
    const next = await stub.next();
    expect(next.versionInfo).toBe(C.version);
    stub.ack(next);
    await waitFor(() => events.acks.length === 2, { what: 'ack of C' });
    expect(nodeById(server, 'dp-1')?.lastNack).toBeUndefined();
    expect(nodeById(server, 'dp-1')?.ackedVersion).toBe(C.version);
  });

  it('sends nothing to a reconnecting data plane that already runs the current version', async () => {
    const { server, address } = await startServer();
    server.publish(A);
    const first = connect(address);
    first.hello('dp-1');
    first.ack(await first.next());
    await waitFor(() => server.ackedCount(A.version) === 1, { what: 'ack of A' });
    first.close();
    await waitFor(() => server.nodes().length === 0, { what: 'first stream to close' });

    const again = connect(address);
    again.hello('dp-1', { versionInfo: A.version });
    await waitFor(() => nodeById(server, 'dp-1'), { what: 'reconnect' });
    expect(server.ackedCount(A.version)).toBe(1);

    server.publish(B);
    // The first response on the new stream is B: A was never resent.
    expect((await again.next()).versionInfo).toBe(B.version);
  });

  it('sends the current snapshot to a reconnecting data plane that runs an older version', async () => {
    const { server, address } = await startServer();
    server.publish(B);
    const stub = connect(address);
    stub.hello('dp-1', { versionInfo: A.version });
    expect((await stub.next()).versionInfo).toBe(B.version);
    expect(nodeById(server, 'dp-1')?.ackedVersion).toBe(A.version);
  });

  it('tracks several data planes and the version each runs', async () => {
    const { server, address } = await startServer();
    const disconnected: string[] = [];
    server.on('disconnect', (node) => disconnected.push(node.id));
    server.publish(A);
    const [one, two, three] = ['dp-1', 'dp-2', 'dp-3'].map((id, i) => {
      const stub = connect(address);
      stub.hello(id, { zone: `zone-${i}` });
      return stub;
    }) as [StubDataPlane, StubDataPlane, StubDataPlane];
    for (const stub of [one, two, three]) stub.ack(await stub.next());
    await waitFor(() => server.ackedCount(A.version) === 3, { what: 'three acks of A' });

    server.publish(B);
    one.ack(await one.next());
    two.ack(await two.next());
    three.nack(await three.next(), A.version, 'nope');
    await waitFor(() => server.ackedCount(B.version) === 2 && nodeById(server, 'dp-3')?.lastNack, {
      what: 'two acks and one nack of B',
    });
    const running = Object.fromEntries(
      server.nodes().map((node) => [node.id, [node.zone, node.ackedVersion]]),
    );
    expect(running).toEqual({
      'dp-1': ['zone-0', B.version],
      'dp-2': ['zone-1', B.version],
      'dp-3': ['zone-2', A.version],
    });
    expect(server.ackedCount(A.version)).toBe(1);

    two.close();
    await waitFor(() => disconnected.includes('dp-2'), { what: 'dp-2 to disconnect' });
    expect(
      server
        .nodes()
        .map((node) => node.id)
        .sort(),
    ).toEqual(['dp-1', 'dp-3']);
    expect(server.ackedCount(B.version)).toBe(1);
  });

  it('does not publish a snapshot that fails validation', async () => {
    const { server, address, lines } = await startServer();
    const stub = connect(address);
    stub.hello('dp-1');
    await waitFor(() => nodeById(server, 'dp-1'), { what: 'connect' });

    const invalid = { ...A, virtualHosts: [{ hostname: 42, routes: [] }] } as unknown as Snapshot;
    expect(server.publish(invalid)).toBe(false);
    expect(server.publish({ ...A, version: '' })).toBe(false);
    expect(server.version).toBeUndefined();
    expect(lines()).toContainEqual(
      expect.objectContaining({
        code: 'TG_ERR_SNAPSHOT_INVALID',
        msg: 'snapshot failed validation; not published',
      }),
    );

    server.publish(B);
    expect((await stub.next()).versionInfo).toBe(B.version);
  });

  it('refuses a stream whose first request does not identify the data plane', async () => {
    const { server, address } = await startServer();
    server.publish(A);
    const stub = connect(address);
    stub.send({ versionInfo: '' });
    const ended = await stub.ended;
    expect(ended.code).toBe(status.INVALID_ARGUMENT);
    expect(ended.details).toContain('node.id');
    expect(server.nodes()).toEqual([]);
  });

  it('delivers a 10,000-route snapshot larger than gRPC’s default 4 MiB message limit', async () => {
    const { server, address } = await startServer();
    const big = largeSnapshot(10_000);
    expect(server.publish(big)).toBe(true);
    const stub = connect(address);
    stub.hello('dp-1');
    const response = await stub.next(30_000);
    expect(response.snapshot.byteLength).toBeGreaterThan(4 * 1024 * 1024);
    const decoded = decodeSnapshot(response.snapshot, response.encoding);
    expect(decoded.version).toBe(big.version);
    expect(decoded.virtualHosts[0]?.routes).toHaveLength(10_000);
  });

  it('ends every stream on close and reports the data planes as disconnected', async () => {
    const { server, address } = await startServer();
    const disconnected: string[] = [];
    server.on('disconnect', (node) => disconnected.push(node.id));
    server.publish(A);
    const stub = connect(address);
    stub.hello('dp-1');
    await stub.next();

    await server.close(1_000);
    expect((await stub.ended).code).toBe(status.OK);
    expect(disconnected).toEqual(['dp-1']);
    expect(server.nodes()).toEqual([]);
  });

  const withOpenssl = opensslAvailable();
  (withOpenssl ? it : it.skip)(
    withOpenssl
      ? 'with mTLS, serves clients with a certificate from its CA and refuses all others'
      : 'with mTLS … SKIPPED: the openssl CLI is not installed, so no test certificates can be made',
    async () => {
      const pki = makeTestPki();
      const { server, address } = await startServer({ tls: { ca: pki.ca, ...pki.server } });
      server.publish(A);

      const trusted = connect(address, { ca: pki.ca, ...pki.client });
      trusted.hello('trusted');
      expect((await trusted.next()).versionInfo).toBe(A.version);

      const plaintext = connect(address);
      plaintext.hello('plaintext');
      expect((await plaintext.ended).code).toBe(status.UNAVAILABLE);

      const rogue = connect(address, { ca: pki.ca, ...pki.rogueClient });
      rogue.hello('rogue');
      expect((await rogue.ended).code).toBe(status.UNAVAILABLE);

      expect(server.nodes().map((node) => node.id)).toEqual(['trusted']);
    },
  );
});
