// Journey 5, "Put LLMs behind one endpoint", followed with nothing but docs/ai.md ("Two providers
// with fallback and prices"): the provider keys in a Secret, AIProviders for OpenAI and Anthropic
// with their models and prices, a Route sending the model `chat-default` to OpenAI with Anthropic
// as fallback — applied with kubectl to a real API server. The official SDKs change only baseURL
// and apiKey. The providers are mock providers: the test makes the two changes the docs ask for
// (the real keys, here the mocks'; the base URLs, which production leaves at their defaults).

import Anthropic from '@anthropic-ai/sdk';
import { type MockProvider, startAnthropicMock, startOpenAIMock, waitFor } from '@tollgate/testkit';
import OpenAI from 'openai';
import { type JourneyCluster, startJourneyCluster } from '../src/journeys/cluster.ts';
import { docsObjects, find, toYaml } from '../src/journeys/docs.ts';

const SLOW = 20 * 60_000; // the first run on a new machine builds the binaries
const TEST = 60_000;

let journey: JourneyCluster;
let openaiMock: MockProvider;
let anthropicMock: MockProvider;
let openai: OpenAI;

const posts = (mock: MockProvider) => mock.requests.filter((r) => r.method === 'POST');

beforeAll(async () => {
  [openaiMock, anthropicMock] = await Promise.all([
    startOpenAIMock({ apiKey: 'sk-journey-openai' }),
    startAnthropicMock({ apiKey: 'sk-ant-journey' }),
  ]);
  journey = await startJourneyCluster(['ai']);
  const objects = docsObjects('ai.md', 'Two providers with fallback and prices');
  const keys = find(objects, 'Secret', 'llm-keys');
  keys.stringData = { openai: openaiMock.apiKey, anthropic: anthropicMock.apiKey };
  find(objects, 'AIProvider', 'openai').spec!.baseURL = openaiMock.baseURL;
  find(objects, 'AIProvider', 'anthropic').spec!.baseURL = anthropicMock.baseURL;
  await journey.apply(toYaml(objects));
  openai = new OpenAI({ baseURL: `${journey.stack.gatewayUrl}/v1`, apiKey: 'unused', maxRetries: 0 });
}, SLOW);

afterAll(async () => {
  await journey?.stop();
  // OpenAI's mock is closed by the last test already.
  await Promise.all([openaiMock?.close().catch(() => undefined), anthropicMock?.close()]);
}, TEST);

test(
  'the documented AIProviders and Route are accepted and programmed',
  async () => {
    for (const [kind, name] of [
      ['aiprovider', 'openai'],
      ['aiprovider', 'anthropic'],
      ['route', 'llm'],
    ] as const) {
      await journey.waitForCondition(kind, 'ai', name, 'Programmed', (c) => c.status === 'True');
      const conditions = await journey.conditions(kind, 'ai', name);
      expect(conditions.filter((c) => c.status !== 'True')).toEqual([]);
    }
    const rows = await journey.table(['aiproviders', '-n', 'ai']);
    expect(rows.map((r) => r.NAME).sort()).toEqual(['anthropic', 'openai']);
  },
  TEST,
);

test(
  'the OpenAI SDK with only baseURL and apiKey changed gets `chat-default` from OpenAI, priced',
  async () => {
    const { data, response } = await waitFor(
      () =>
        openai.chat.completions
          .create({ model: 'chat-default', messages: [{ role: 'user', content: 'Hello' }] })
          .withResponse()
          .catch(() => undefined),
      { what: 'the route to serve chat-default', timeoutMs: 20_000 },
    );
    expect(data.choices[0]!.message.content).toBe('Echo: Hello ☕ café');
    const sent = posts(openaiMock).at(-1)!;
    expect(sent.body!.model).toBe('gpt-4o-mini');
    // The provider gets the key from the Secret, never the client's.
    expect(sent.headers.authorization).toBe(`Bearer ${openaiMock.apiKey}`);
    expect(response.headers.get('x-tollgate-usage')).toMatch(/cost_micros=\d+; currency=USD/);

    // Streaming works through the same endpoint.
    const stream = await openai.chat.completions.create({
      model: 'chat-default',
      messages: [{ role: 'user', content: 'Stream please' }],
      stream: true,
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('Echo: Stream please ☕ café');

    // The Anthropic SDK, same endpoint, same model name.
    const anthropic = new Anthropic({ baseURL: journey.stack.gatewayUrl, apiKey: 'unused', maxRetries: 0 });
    const message = await anthropic.messages.create({
      model: 'chat-default',
      max_tokens: 64,
      messages: [{ role: 'user', content: 'Hi from Anthropic' }],
    });
    expect(message.content[0]).toMatchObject({ type: 'text', text: 'Echo: Hi from Anthropic ☕ café' });
  },
  TEST,
);

test(
  'when OpenAI fails, Anthropic answers the same request and the client sees one success',
  async () => {
    const anthropicBefore = posts(anthropicMock).length;
    openaiMock.enqueue({ kind: 'status', status: 500, message: 'the model is on fire' });
    const completion = await openai.chat.completions.create({
      model: 'chat-default',
      messages: [{ role: 'user', content: 'Still there?' }],
    });
    expect(completion.choices[0]!.message.content).toBe('Echo: Still there? ☕ café');
    const viaAnthropic = posts(anthropicMock);
    expect(viaAnthropic.length).toBe(anthropicBefore + 1);
    expect(viaAnthropic.at(-1)!.body!.model).toBe('claude-haiku-4-5');

    // A stream too: OpenAI's connection is reset before a byte, Anthropic streams the answer.
    openaiMock.enqueue({ kind: 'reset' });
    const stream = await openai.chat.completions.create({
      model: 'chat-default',
      messages: [{ role: 'user', content: 'Stream anyway' }],
      stream: true,
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('Echo: Stream anyway ☕ café');
    expect(posts(anthropicMock).length).toBe(anthropicBefore + 2);

    const metrics = await journey.metrics();
    expect(metrics).toMatch(/tollgate_ai_upstream_attempts_total\{[^}]*outcome="server_error"[^}]*\} [1-9]/);
  },
  TEST,
);

test(
  'when OpenAI is down altogether, every request is served by Anthropic',
  async () => {
    const anthropicBefore = posts(anthropicMock).length;
    await openaiMock.close();
    for (let i = 0; i < 3; i++) {
      const completion = await openai.chat.completions.create({
        model: 'chat-default',
        messages: [{ role: 'user', content: `Anyone ${i}` }],
      });
      expect(completion.choices[0]!.message.content).toBe(`Echo: Anyone ${i} ☕ café`);
    }
    expect(posts(anthropicMock).length).toBe(anthropicBefore + 3);
    const metrics = await journey.metrics();
    expect(metrics).toMatch(/tollgate_ai_upstream_attempts_total\{[^}]*outcome="connect_error"[^}]*\} [1-9]/);
  },
  TEST,
);
