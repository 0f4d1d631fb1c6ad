// AIProvider health checks in routing: a provider that fails its probes is passed over (not even
// tried) while another can serve, and comes back once its probes succeed again. The state is on
// the admin port at GET /ai_providers.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type MockProvider, startOpenAIMock, waitFor } from '@tollgate/testkit';
import OpenAI from 'openai';
import { type Gateway, providerObjects, routeObject, sample, startGateway } from './helpers.ts';

interface HealthEntry {
  provider: string;
  healthy: boolean;
  consecutiveFailures: number;
  lastProbeAt?: string;
  lastFailure?: string;
}

describe('AIProvider health checks', () => {
  let primary: MockProvider;
  let backup: MockProvider;
  let port: number;
  let gateway: Gateway;
  let client: OpenAI;

  beforeAll(async () => {
    primary = await startOpenAIMock();
    port = Number(new URL(primary.baseURL).port);
    backup = await startOpenAIMock();
    gateway = await startGateway([
      ...providerObjects({
        name: 'primary',
        spec: {
          type: 'openai',
          baseURL: primary.baseURL,
          healthCheck: { interval: '100ms', timeout: '1s', unhealthyThreshold: 2, healthyThreshold: 2 },
        },
        apiKey: primary.apiKey,
      }),
      ...providerObjects({
        name: 'backup',
        spec: { type: 'openai', baseURL: backup.baseURL },
        apiKey: backup.apiKey,
      }),
      routeObject('llm', [
        {
          matches: [{ path: { value: '/v1' } }],
          backendRefs: [
            { kind: 'AIProvider', name: 'primary', model: 'gpt-4o', priority: 0 },
            { kind: 'AIProvider', name: 'backup', model: 'gpt-4o', priority: 1 },
          ],
        },
      ]),
    ]);
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'client-key', maxRetries: 0 });
  });

  afterAll(async () => {
    await gateway?.close();
    await primary?.close();
    await backup?.close();
  });

  async function health(): Promise<HealthEntry[]> {
    const body = (await (await fetch(`${gateway.adminUrl}/ai_providers`)).json()) as {
      providers: HealthEntry[];
    };
    return body.providers;
  }

  async function served(): Promise<unknown> {
    const completion = await client.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'hello there' }],
    });
    expect(completion.choices[0]!.message.content).toBe('Echo: hello there ☕ café');
    const record = gateway.aiRecords().at(-1)!;
    return { provider: record.provider, attempts: record.attempts };
  }

  test('probes go to the provider’s model list with its credentials; a healthy primary serves', async () => {
    const probe = await waitFor(() => primary.requests.find((r) => r.method === 'GET'));
    expect(new URL(probe.url, 'http://x').pathname).toBe('/v1/models');
    expect(probe.headers.authorization).toBe(`Bearer ${primary.apiKey}`);
    await waitFor(async () => (await health()).find((h) => h.provider === 'ai/primary' && h.lastProbeAt));
    // Only providers with a health check are listed.
    expect((await health()).map((h) => h.provider)).toEqual(['ai/primary']);
    expect(await served()).toEqual({ provider: 'ai/primary', attempts: 1 });
  });

  test('a provider that goes down is taken out after its threshold and passed over without being tried', async () => {
    await primary.close();
    const down = await waitFor(async () =>
      (await health()).find((h) => h.provider === 'ai/primary' && !h.healthy),
    );
    expect(down.consecutiveFailures).toBeGreaterThanOrEqual(2);
    expect(down.lastFailure).toBe('ECONNREFUSED');
    const metrics = () => gateway.metrics();
    const connectErrors = sample(await metrics(), 'tollgate_ai_upstream_attempts_total', {
      tollgate_provider: 'ai/primary',
      gen_ai_provider_name: 'openai',
      outcome: 'connect_error',
    });
    expect(await served()).toEqual({ provider: 'ai/backup', attempts: 1 });
    expect(await served()).toEqual({ provider: 'ai/backup', attempts: 1 });
    const after = await metrics();
    const attempts = (outcome: string) =>
      sample(after, 'tollgate_ai_upstream_attempts_total', {
        tollgate_provider: 'ai/primary',
        gen_ai_provider_name: 'openai',
        outcome,
      });
    expect(attempts('unhealthy')).toBe(2);
    expect(attempts('connect_error')).toBe(connectErrors);
    expect(
      sample(after, 'tollgate_ai_provider_healthy', {
        tollgate_provider: 'ai/primary',
        gen_ai_provider_name: 'openai',
      }),
    ).toBe(0);
  });

  test('once its probes succeed again (healthyThreshold in a row), the provider is back in rotation', async () => {
    primary = await startOpenAIMock({ port });
    await waitFor(async () => (await health()).find((h) => h.provider === 'ai/primary' && h.healthy));
    expect(await served()).toEqual({ provider: 'ai/primary', attempts: 1 });
    const metrics = await gateway.metrics();
    expect(
      sample(metrics, 'tollgate_ai_provider_healthy', {
        tollgate_provider: 'ai/primary',
        gen_ai_provider_name: 'openai',
      }),
    ).toBe(1);
    // Providers without a health check have no series.
    expect(metrics).not.toContain('tollgate_ai_provider_healthy{tollgate_provider="ai/backup"');
  });
});

describe('AIProvider health checks when no backend passes them', () => {
  let server: Server;
  let gateway: Gateway;
  const objects = (healthCheck: Record<string, unknown> | undefined) => [
    ...providerObjects({
      name: 'flaky-probe',
      spec: {
        type: 'openai-compatible',
        baseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
        ...(healthCheck ? { healthCheck } : {}),
      },
    }),
    routeObject('llm', [
      { matches: [{ path: { value: '/v1' } }], backendRefs: [{ kind: 'AIProvider', name: 'flaky-probe' }] },
    ]),
  ];

  beforeAll(async () => {
    // The model list fails (500); chat completions work.
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        if (req.method === 'GET') {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end('{"error":{"message":"models unavailable","type":"server_error"}}');
          return;
        }
        const body = JSON.stringify({
          id: 'c1',
          object: 'chat.completion',
          created: 1,
          model: 'm',
          choices: [{ index: 0, message: { role: 'assistant', content: 'fine' }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
        });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    gateway = await startGateway(objects({ interval: '50ms', unhealthyThreshold: 1 }));
  });

  afterAll(async () => {
    await gateway?.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  async function health(): Promise<HealthEntry[]> {
    return ((await (await fetch(`${gateway.adminUrl}/ai_providers`)).json()) as { providers: HealthEntry[] })
      .providers;
  }

  test('a request is still tried on the unhealthy provider rather than refused', async () => {
    const down = await waitFor(async () => (await health()).find((h) => !h.healthy));
    expect(down.lastFailure).toBe('status 500');
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'k', maxRetries: 0 });
    const completion = await client.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: 'x' }],
    });
    expect(completion.choices[0]!.message.content).toBe('fine');
    expect(gateway.aiRecords().at(-1)).toMatchObject({ provider: 'ai/flaky-probe', attempts: 1 });
  });

  test('a configuration without the health check stops it: no state, no gauge series', async () => {
    gateway.apply(objects(undefined));
    expect(await health()).toEqual([]);
    expect(await gateway.metrics()).not.toContain('tollgate_ai_provider_healthy{');
  });
});
