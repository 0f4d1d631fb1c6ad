// Balancing strategies through the gateway with mock providers: LeastBusy avoids a provider holding
// a request, LowestLatency moves traffic from a slow provider to a fast one.
import { type MockProvider, startOpenAIMock, waitFor } from '@tollgate/testkit';
import OpenAI from 'openai';
import { type GatedProvider, startGatedProvider } from './gated-provider.ts';
import { type Gateway, providerObjects, routeObject, startGateway } from './helpers.ts';

const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'hello there' }];

describe('balancing strategies', () => {
  let fast: MockProvider;
  let behind: MockProvider;
  let held: GatedProvider;
  let slow: GatedProvider;
  let gateway: Gateway;
  let client: OpenAI;

  beforeAll(async () => {
    [fast, behind] = await Promise.all([startOpenAIMock(), startOpenAIMock()]);
    held = await startGatedProvider(behind);
    slow = await startGatedProvider(behind, 250);
    const provider = (name: string, baseURL: string) =>
      providerObjects({ name, spec: { type: 'openai', baseURL }, apiKey: behind.apiKey });
    gateway = await startGateway([
      ...provider('held', held.baseURL),
      ...provider('slow', slow.baseURL),
      ...providerObjects({
        name: 'fast',
        spec: { type: 'openai', baseURL: fast.baseURL },
        apiKey: fast.apiKey,
      }),
      routeObject('llm', [
        {
          matches: [{ path: { value: '/v1' }, model: { value: 'least-busy' } }],
          loadBalancing: { type: 'LeastBusy' },
          // Weights favour the held provider: only its busyness sends traffic elsewhere.
          backendRefs: [
            { kind: 'AIProvider', name: 'held', model: 'gpt-4o', weight: 9 },
            { kind: 'AIProvider', name: 'fast', model: 'gpt-4o', weight: 1 },
          ],
        },
        {
          matches: [{ path: { value: '/v1' }, model: { value: 'lowest-latency' } }],
          loadBalancing: { type: 'LowestLatency' },
          backendRefs: [
            { kind: 'AIProvider', name: 'slow', model: 'gpt-4o-mini' },
            { kind: 'AIProvider', name: 'fast', model: 'gpt-4o-mini' },
          ],
        },
      ]),
    ]);
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'k', maxRetries: 0 });
  });

  afterAll(async () => {
    await gateway?.close();
    await held?.close();
    await slow?.close();
    await fast?.close();
    await behind?.close();
  });

  test('LeastBusy sends the next requests away from a provider holding one', async () => {
    const first = client.chat.completions.create({ model: 'least-busy', messages });
    await waitFor(() => held.received === 1, { what: 'the held provider to receive the first request' });
    const before = fast.requests.length;
    for (let i = 0; i < 4; i++) await client.chat.completions.create({ model: 'least-busy', messages });
    expect(fast.requests.length - before).toBe(4);
    expect(held.received).toBe(1);
    held.open();
    expect((await first).choices[0]!.message.content).toContain('hello there');
    // Idle again: the heavier weight wins the next request.
    await client.chat.completions.create({ model: 'least-busy', messages });
    expect(held.received).toBe(2);
  });

  test('LowestLatency moves traffic from a slow provider to a fast one', async () => {
    const before = fast.requests.length;
    for (let i = 0; i < 10; i++) await client.chat.completions.create({ model: 'lowest-latency', messages });
    // Each is measured once (new backends are probed first), then the fast one takes the rest.
    expect(slow.received).toBeLessThanOrEqual(2);
    expect(fast.requests.length - before).toBeGreaterThanOrEqual(8);
    expect(gateway.aiRecords().at(-1)).toMatchObject({ provider: 'ai/fast' });
  });
});
