// The admin port: health, readiness, metrics, config dump.
import { startUpstream, type TestUpstream, waitFor } from '@tollgate/testkit';
import { request } from 'undici';
import { cluster, entry, type RunningDataplane, snapshotOf, startDataplane } from '../helpers.ts';

let blue: TestUpstream;
let gateway: RunningDataplane;

beforeAll(async () => {
  blue = await startUpstream('blue');
});

beforeEach(async () => {
  gateway = await startDataplane();
});

afterEach(async () => {
  await gateway?.close();
});

afterAll(async () => {
  await blue?.close();
});

const snapshot = () =>
  snapshotOf(
    { '*': [entry('ns/app/0/0', { path: ['PathPrefix', '/some'], backends: [['blue', 1]] })] },
    [cluster('blue', [blue.port])],
    {
      aiProviders: [
        {
          id: 'ai/ns/openai',
          namespace: 'ns',
          name: 'openai',
          type: 'openai',
          baseURL: 'https://api.openai.com/v1',
          credentials: { apiKey: 'sk-live-very-secret', organization: 'org-secret' },
          models: [{ name: 'gpt-4o', aliases: [] }],
        },
      ],
    },
  );

async function admin(path: string): Promise<{ status: number; body: string; contentType: unknown }> {
  const response = await request(`${gateway.adminUrl}${path}`);
  return {
    status: response.statusCode,
    body: await response.body.text(),
    contentType: response.headers['content-type'],
  };
}

test('healthz answers 200 while the process runs, before any snapshot', async () => {
  expect((await admin('/healthz')).status).toBe(200);
});

test('readyz answers 503 before the first snapshot and 200 after it', async () => {
  const before = await admin('/readyz');
  expect(before.status).toBe(503);
  expect(JSON.parse(before.body)).toMatchObject({ ready: false, version: null });
  const applied = snapshot();
  gateway.dataplane.applySnapshot(applied);
  const after = await admin('/readyz');
  expect(after.status).toBe(200);
  expect(JSON.parse(after.body)).toMatchObject({ ready: true, version: applied.version });
});

test('readyz answers 503 while draining', async () => {
  gateway.dataplane.applySnapshot(snapshot());
  await gateway.dataplane.drain(1_000);
  const during = await admin('/readyz');
  expect(during.status).toBe(503);
  expect(JSON.parse(during.body)).toMatchObject({ ready: false, status: 'draining' });
});

test('config_dump shows the active snapshot with provider credentials redacted', async () => {
  const applied = snapshot();
  gateway.dataplane.applySnapshot(applied);
  const { status, body } = await admin('/config_dump');
  expect(status).toBe(200);
  expect(body).not.toContain('sk-live-very-secret');
  expect(body).not.toContain('org-secret');
  const dump = JSON.parse(body);
  expect(dump.version).toBe(applied.version);
  expect(new Date(dump.appliedAt).getTime()).toBeLessThanOrEqual(Date.now());
  expect(dump.snapshot.aiProviders[0].credentials).toEqual({
    apiKey: '[REDACTED]',
    organization: '[REDACTED]',
  });
  expect(dump.snapshot.virtualHosts).toEqual(applied.virtualHosts);
  // The active snapshot itself is untouched.
  expect(applied.aiProviders[0]!.credentials.apiKey).toBe('sk-live-very-secret');
});

test('config_dump is empty before the first snapshot', async () => {
  expect(JSON.parse((await admin('/config_dump')).body)).toEqual({
    version: null,
    appliedAt: null,
    snapshot: null,
  });
});

test('metrics expose request, snapshot and process series with bounded labels', async () => {
  const applied = snapshot();
  gateway.dataplane.applySnapshot(applied);
  const response = await request(`${gateway.url}/some/raw/path?x=1`, { method: 'POST', body: 'x' });
  await response.body.dump();
  await (await request(`${gateway.url}/missing`)).body.dump();
  // A rejected snapshot is counted too.
  expect(() => gateway.dataplane.applySnapshot({})).toThrow();
  // The exchange is recorded when the response closes on the server, which can trail the client by a moment.
  const { status, body, contentType } = await waitFor(async () => {
    const result = await admin('/metrics');
    return result.body.includes('status_class="4xx"} 1') ? result : undefined;
  });
  expect(status).toBe(200);
  expect(String(contentType)).toContain('text/plain');
  expect(body).toContain('tollgate_requests_total{route="ns/app/0/0",method="POST",status_class="2xx"} 1');
  expect(body).toContain('tollgate_request_duration_seconds_count{route="ns/app/0/0"} 1');
  expect(body).toContain('tollgate_requests_total{route="",method="GET",status_class="4xx"} 1');
  expect(body).toContain(`tollgate_snapshot_info{version="${applied.version}"} 1`);
  expect(body).toContain('tollgate_snapshot_swaps_total 1');
  expect(body).toContain('tollgate_snapshot_rejections_total 1');
  expect(body).toContain('# TYPE tollgate_upstream_errors_total counter');
  expect(body).toContain('process_cpu_user_seconds_total');
  expect(body).not.toContain('/some/raw/path');
});

test('snapshot_info shows only the active version after a swap', async () => {
  const first = snapshot();
  gateway.dataplane.applySnapshot(first);
  const second = snapshotOf({ '*': [entry('other', { backends: [['blue', 1]] })] }, [
    cluster('blue', [blue.port]),
  ]);
  gateway.dataplane.applySnapshot(second);
  const { body } = await admin('/metrics');
  expect(body).toContain(`tollgate_snapshot_info{version="${second.version}"} 1`);
  expect(body).not.toContain(`version="${first.version}"`);
  expect(body).toContain('tollgate_snapshot_swaps_total 2');
});

test('unknown admin paths answer 404 with an error code', async () => {
  const { status, body } = await admin('/nope');
  expect(status).toBe(404);
  expect(JSON.parse(body).error.code).toBe('TG_ERR_NOT_FOUND');
});
