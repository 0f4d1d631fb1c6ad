// Usage analysis: the rolling aggregation (windows, bounded memory), GET /usage on the admin port
// after real AI traffic, and the `usage` CLI printing it — in process and as the real command.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { type MockProvider, startOpenAIMock } from '@tollgate/testkit';
import OpenAI from 'openai';
import type { AccessRecord } from '../../src/observability/index.ts';
import { OTHER_KEY, UsageAggregator } from '../../src/observability/index.ts';
import { renderUsageTable, runUsageCli } from '../../src/observability/usage-cli.ts';
import { type Gateway, mockProviderObjects, routeObject, startGateway } from '../ai/helpers.ts';

const root = path.resolve(import.meta.dirname, '../../..');

function record(consumer: string | undefined, model: string, input: number, output: number): AccessRecord {
  return {
    method: 'POST',
    host: 'h',
    path: '/v1/chat/completions',
    status: 200,
    route: 'ai/llm/0/0',
    cluster: 'ai/ai/p',
    upstream: undefined,
    bytesIn: 1,
    bytesOut: 1,
    durationMs: 1,
    upstreamMs: 1,
    requestId: 'r',
    errorCode: undefined,
    ...(consumer ? { consumer } : {}),
    ai: {
      api: 'openai',
      operation: 'chat',
      stream: false,
      requestModel: model,
      provider: 'ai/p',
      providerType: 'openai',
      model,
      attempts: 1,
      inputTokens: input,
      outputTokens: output,
      cachedInputTokens: 0,
      cacheWriteTokens: 0,
      reasoningTokens: 0,
      estimated: false,
      costMicros: (input + output) * 10,
      currency: 'USD',
    },
  };
}

describe('UsageAggregator', () => {
  test('ranks consumers by tokens within the window and forgets what is older', () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const usage = new UsageAggregator({ now: () => now });
    usage.record(record('team/a', 'm1', 100, 50));
    now += 2 * 3600_000;
    usage.record(record('team/b', 'm1', 10, 5));
    usage.record(record('team/c', 'm2', 30, 30));
    usage.record(record(undefined, 'm2', 1, 1));

    const hour = usage.top('consumer', 3600_000, 10);
    expect(hour.rows.map((r) => [r.key, r.totalTokens])).toEqual([
      ['team/c', 60],
      ['team/b', 15],
      ['(anonymous)', 2],
    ]);
    expect(hour.total).toMatchObject({ requests: 3, totalTokens: 77, cost: { USD: 0.00077 } });
    const day = usage.top('consumer', 24 * 3600_000, 1, 'cost');
    expect(day.rows).toEqual([
      expect.objectContaining({ key: 'team/a', totalTokens: 150, cost: { USD: 0.0015 } }),
    ]);
    expect(usage.top('model', 24 * 3600_000, 10).rows.map((r) => r.key)).toEqual(['m1', 'm2']);

    now += 25 * 3600_000;
    expect(usage.top('consumer', 24 * 3600_000, 10).rows).toEqual([]);
  });

  test('memory stays bounded: 10,000 distinct consumers in a minute keep at most the cap, the rest as (other)', () => {
    const usage = new UsageAggregator({ maxKeysPerBucket: 100, now: () => 1_000_000 });
    for (let i = 0; i < 10_000; i++) usage.record(record(`ns/c${i}`, 'm', 1, 1));
    expect(usage.keyCount).toBeLessThanOrEqual(4 * 101);
    const report = usage.top('consumer', 3600_000, 1000);
    expect(report.rows).toHaveLength(101);
    expect(report.rows[0]).toMatchObject({ key: OTHER_KEY, requests: 9_900 });
    expect(report.total.requests).toBe(10_000);
  });
});

describe('GET /usage and the usage CLI after real traffic', () => {
  let provider: MockProvider;
  let gateway: Gateway;
  let admin: string;

  beforeAll(async () => {
    provider = await startOpenAIMock();
    const pricing = { currency: 'USD', inputPerMillion: '1', outputPerMillion: '2' };
    gateway = await startGateway([
      ...mockProviderObjects('mock', 'openai', provider, {
        models: [
          { name: 'small', pricing },
          { name: 'large', pricing },
        ],
      }),
      routeObject('llm', [
        { matches: [{ path: { value: '/v1' } }], backendRefs: [{ kind: 'AIProvider', name: 'mock' }] },
      ]),
    ]);
    admin = gateway.adminUrl.replace('http://', '');
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'k', maxRetries: 0 });
    const ask = (model: string, content: string) =>
      client.chat.completions.create({ model, messages: [{ role: 'user', content }] });
    await ask('small', 'hi');
    await ask('large', 'a much longer question with many more words in it than the other one');
    await ask('large', 'and another long question so that large is clearly on top');
  });

  afterAll(async () => {
    await gateway?.close();
    await provider?.close();
  });

  test('the admin endpoint ranks models by tokens with requests and cost', async () => {
    const response = await fetch(`${gateway.adminUrl}/usage?by=model&window=15m&limit=5`);
    expect(response.status).toBe(200);
    const report = (await response.json()) as {
      rows: Array<Record<string, unknown>>;
      total: Record<string, unknown>;
    };
    expect(report.rows.map((r) => [r.key, r.requests])).toEqual([
      ['large', 2],
      ['small', 1],
    ]);
    const reported = provider.reported;
    const tokens = reported.reduce((sum, u) => sum + u.inputTokens + u.outputTokens, 0);
    expect(report.total.totalTokens).toBe(tokens);
    expect((report.total.cost as Record<string, number>).USD).toBeGreaterThan(0);
  });

  test('a malformed query is a 400 naming the parameter', async () => {
    const response = await fetch(`${gateway.adminUrl}/usage?by=planet&window=forever`);
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { message: string } };
    expect(body.error.message).toContain('by');
    expect(body.error.message).toContain('window');
  });

  test('the CLI prints a table, heaviest first, with a total line', async () => {
    let printed = '';
    const code = await runUsageCli(['--admin', admin, '--by', 'route', '--window', '1h'], (t) => {
      printed += t;
    });
    expect(code).toBe(0);
    const lines = printed.trim().split('\n');
    expect(lines[1]).toMatch(/^ROUTE\s+REQUESTS\s+ERRORS\s+INPUT\s+OUTPUT\s+TOKENS\s+COST$/);
    expect(lines[2]).toMatch(/^ai\/llm\/0\/0\s+3\s+0\s/);
    expect(lines.at(-1)).toMatch(/^TOTAL\s+3\s+0\s.*USD$/);
  });

  test('`main.ts usage` is the same CLI as a real command', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [path.join(root, 'dataplane/src/main.ts'), 'usage', '--admin', admin, '--by', 'model', '--json'],
      { cwd: root },
    );
    const report = JSON.parse(stdout) as { by: string; rows: Array<{ key: string }> };
    expect(report.by).toBe('model');
    expect(report.rows[0]!.key).toBe('large');
  });

  test('renderUsageTable aligns columns', () => {
    const table = renderUsageTable({
      by: 'consumer',
      sort: 'tokens',
      windowSeconds: 3600,
      from: 'a',
      to: 'b',
      rows: [{ key: 'x', requests: 1, errors: 0, inputTokens: 1, outputTokens: 1, totalTokens: 2, cost: {} }],
      total: { requests: 1, errors: 0, inputTokens: 1, outputTokens: 1, totalTokens: 2, cost: {} },
    });
    const [, header, row] = table.split('\n');
    expect(header!.indexOf('REQUESTS') + 'REQUESTS'.length).toBe(row!.indexOf('1') + 1);
  });
});
