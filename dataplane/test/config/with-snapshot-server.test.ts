// The real ConfigClient against the real controller SnapshotServer, over loopback.
import type { Snapshot } from '@tollgate/snapshot';
import { waitFor } from '@tollgate/testkit';
import { SnapshotServer } from '../../../controller/src/server/index.ts';
import { makeTestPki, opensslAvailable } from '../../../packages/snapshot/test/support/certs.ts';
import { largeSnapshot, sampleSnapshot } from '../../../packages/snapshot/test/support/snapshots.ts';
import { ConfigClient, type ConfigClientOptions } from '../../src/config/index.ts';
import { captureLogger } from './helpers.ts';

const A = sampleSnapshot('a');
const B = sampleSnapshot('b');

let clients: ConfigClient[] = [];
let servers: SnapshotServer[] = [];

afterEach(async () => {
  await Promise.all(clients.map((client) => client.stop()));
  await Promise.all(servers.map((server) => server.close(0)));
  clients = [];
  servers = [];
});

async function startServer(port = 0, tls?: ConstructorParameters<typeof SnapshotServer>[0]['tls']) {
  const server = new SnapshotServer({ logger: captureLogger().logger, tls });
  servers.push(server);
  const bound = await server.listen('127.0.0.1', port);
  return { server, port: bound, address: `127.0.0.1:${bound}` };
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

describe('ConfigClient with SnapshotServer', () => {
  it('round-trips a 10,000-route snapshot and the server records the ACK', async () => {
    const { server, address } = await startServer();
    const big = largeSnapshot(10_000);
    server.publish(big);
    const { client, applied } = startClient(address);
    await waitFor(() => server.ackedCount(big.version) === 1, {
      what: 'ack of the large snapshot',
      timeoutMs: 30_000,
    });
    expect(client.version).toBe(big.version);
    expect(applied[0]?.virtualHosts[0]?.routes).toHaveLength(10_000);
  });

  it('reports a rejected snapshot to the server and keeps the old version on both sides', async () => {
    const { server, address } = await startServer();
    server.publish(A);
    const { client } = startClient(address, {
      onSnapshot: (snapshot) => {
        if (snapshot.version === B.version) throw new Error('cannot build router');
      },
    });
    await waitFor(() => server.ackedCount(A.version) === 1, { what: 'ack of A' });
    server.publish(B);
    await waitFor(() => server.nodes()[0]?.lastNack, { what: 'nack of B' });
    expect(server.nodes()[0]).toEqual(
      expect.objectContaining({
        id: 'dp-1',
        ackedVersion: A.version,
        lastNack: { version: B.version, message: 'cannot build router' },
      }),
    );
    expect(client.version).toBe(A.version);
  });

  it('after a controller restart with unchanged content, reconnects without receiving the snapshot again', async () => {
    const first = await startServer();
    first.server.publish(A);
    const { client, applied } = startClient(first.address);
    await waitFor(() => first.server.ackedCount(A.version) === 1, { what: 'ack of A' });

    await first.server.close(0);
    await waitFor(() => !client.connected, { what: 'disconnect' });
    expect(client.version).toBe(A.version);

    const second = await startServer(first.port);
    second.server.publish(A);
    await waitFor(() => second.server.ackedCount(A.version) === 1, { what: 'reconnect reporting A' });
    second.server.publish(B);
    await waitFor(() => client.version === B.version, { what: 'B applied' });
    expect(applied.map((snapshot) => snapshot.version)).toEqual([A.version, B.version]);
  });

  const withOpenssl = opensslAvailable();
  (withOpenssl ? it : it.skip)(
    withOpenssl
      ? 'over mTLS, a client with a certificate from the CA gets config and one without is refused'
      : 'over mTLS … SKIPPED: the openssl CLI is not installed, so no test certificates can be made',
    async () => {
      const pki = makeTestPki();
      const { server, address } = await startServer(0, { ca: pki.ca, ...pki.server });
      server.publish(A);

      const trusted = startClient(address, { tls: { ca: pki.ca, ...pki.client } });
      await waitFor(() => trusted.client.version === A.version, { what: 'trusted client to apply A' });

      const rogue = startClient(address, {
        node: { id: 'rogue', buildVersion: '1.2.3' },
        tls: { ca: pki.ca, ...pki.rogueClient },
      });
      await waitFor(
        () => rogue.lines().filter((line) => line.code === 'TG_ERR_CONTROLLER_UNAVAILABLE').length >= 2,
        { what: 'rogue client to be refused twice' },
      );
      expect(rogue.client.connected).toBe(false);
      expect(rogue.client.version).toBeUndefined();
      expect(server.nodes().map((node) => node.id)).toEqual(['dp-1']);
    },
  );
});
