// Metering beyond the happy path: providers that report no usage, clients that leave mid-stream,
// the stream trailer, and the GenAI metrics.
import Anthropic from '@anthropic-ai/sdk';
import { type MockProvider, startAnthropicMock, startOpenAIMock } from '@tollgate/testkit';
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import OpenAI from 'openai';
import { request } from 'undici';
import { parseUsageHeader } from '../../src/ai/index.ts';
import { accessLines, type Gateway, providerObjects, routeObject, sample, startGateway } from './helpers.ts';

const PRICING = { currency: 'EUR', inputPerMillion: '0.15', outputPerMillion: '0.6' };
/** What the gateway's tokenizer counts for one user message (its text and the chat framing). */
const promptEstimate = (text: string) => countTokens(`${text}\n`) + 4;
const LONG = Array.from({ length: 300 }, (_, i) => `word${i}`).join(' ');

describe('metering', () => {
  let silent: MockProvider;
  let slowOpenAI: MockProvider;
  let slowAnthropic: MockProvider;
  let gateway: Gateway;
  let openai: OpenAI;
  let anthropic: Anthropic;
  let lines = 0;

  beforeAll(async () => {
    [silent, slowOpenAI, slowAnthropic] = await Promise.all([
      startOpenAIMock({ variant: 'openai-compatible', usage: false }),
      startOpenAIMock({ framing: { splitWrites: true } }),
      startAnthropicMock({ framing: { splitWrites: true } }),
    ]);
    const models = (name: string) => [{ name, pricing: PRICING }];
    gateway = await startGateway([
      ...providerObjects({
        name: 'silent',
        apiKey: silent.apiKey,
        spec: { type: 'openai-compatible', baseURL: silent.baseURL, models: models('quiet') },
      }),
      ...providerObjects({
        name: 'slow-openai',
        apiKey: slowOpenAI.apiKey,
        spec: { type: 'openai', baseURL: slowOpenAI.baseURL, models: models('slow-gpt') },
      }),
      ...providerObjects({
        name: 'slow-anthropic',
        apiKey: slowAnthropic.apiKey,
        spec: { type: 'anthropic', baseURL: slowAnthropic.baseURL, models: models('slow-claude') },
      }),
      routeObject('llm', [
        {
          matches: [{ path: { value: '/v1' }, model: { value: 'quiet' } }],
          backendRefs: [{ kind: 'AIProvider', name: 'silent' }],
        },
        {
          matches: [{ path: { value: '/v1' }, model: { value: 'slow-gpt' } }],
          backendRefs: [{ kind: 'AIProvider', name: 'slow-openai' }],
        },
        {
          matches: [{ path: { value: '/v1' }, model: { value: 'slow-claude' } }],
          backendRefs: [{ kind: 'AIProvider', name: 'slow-anthropic' }],
        },
      ]),
    ]);
    openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'k', maxRetries: 0 });
    anthropic = new Anthropic({ baseURL: gateway.url, apiKey: 'k', maxRetries: 0 });
  });

  afterAll(async () => {
    await gateway?.close();
    await Promise.all([silent?.close(), slowOpenAI?.close(), slowAnthropic?.close()]);
  });

  async function next(): Promise<Record<string, unknown>> {
    lines++;
    return (await accessLines(gateway, lines))[lines - 1]!;
  }

  test('a provider that reports no usage is metered with the tokenizer and marked estimated', async () => {
    const { data, response } = await openai.chat.completions
      .create({ model: 'quiet', messages: [{ role: 'user', content: 'hello there' }] })
      .withResponse();
    const expected = {
      input: promptEstimate('hello there'),
      output: countTokens('Echo: hello there ☕ café'),
    };
    expect(data.usage).toBeUndefined();
    expect(parseUsageHeader(response.headers.get('x-tollgate-usage')!)).toMatchObject({
      input: String(expected.input),
      output: String(expected.output),
      estimated: 'true',
      currency: 'EUR',
    });
    expect((await next()).ai).toMatchObject({
      inputTokens: expected.input,
      outputTokens: expected.output,
      estimated: true,
    });

    let text = '';
    for await (const chunk of await openai.chat.completions.create({
      model: 'quiet',
      messages: [{ role: 'user', content: 'hello there' }],
      stream: true,
    }))
      text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('Echo: hello there ☕ café');
    expect((await next()).ai).toMatchObject({
      inputTokens: expected.input,
      outputTokens: expected.output,
      estimated: true,
    });
  });

  test('a client leaving a pass-through stream is metered for what was generated (estimated)', async () => {
    let received = '';
    for await (const chunk of await openai.chat.completions.create({
      model: 'slow-gpt',
      messages: [{ role: 'user', content: LONG }],
      stream: true,
    })) {
      received += chunk.choices[0]?.delta.content ?? '';
      if (received.includes('word5 ')) break;
    }
    const line = await next();
    // The status had been sent (200); the log line says the client closed.
    expect(line.status).toBe(200);
    expect(line.errorCode).toBe('TG_ERR_CLIENT_CLOSED');
    const ai = line.ai as Record<string, number | boolean | string>;
    expect(ai).toMatchObject({
      provider: 'ai/slow-openai',
      estimated: true,
      inputTokens: promptEstimate(LONG),
    });
    // At least what the client saw, far less than the whole answer (~900 tokens).
    expect(ai.outputTokens as number).toBeGreaterThanOrEqual(countTokens(received));
    expect(ai.outputTokens as number).toBeLessThan(countTokens(`Echo: ${LONG}`) / 2);
    expect(ai.costMicros as number).toBeGreaterThan(0);
  });

  test('a client leaving an Anthropic stream keeps the input the provider reported, output estimated', async () => {
    const words = LONG.split(' ').length;
    const stream = anthropic.messages.stream({
      model: 'slow-claude',
      max_tokens: 1024,
      messages: [{ role: 'user', content: LONG }],
    });
    await new Promise<void>((resolve) => {
      stream.on('text', (_delta, snapshot) => {
        if (snapshot.includes('word5 ')) {
          stream.abort();
          resolve();
        }
      });
      stream.on('error', () => resolve());
      stream.on('abort', () => resolve());
    });
    const line = await next();
    const ai = line.ai as Record<string, number | boolean>;
    // The mock counts words + 10 for the prompt; message_start carried it before the client left.
    expect(ai).toMatchObject({
      inputTokens: words + 10,
      cachedInputTokens: 2,
      cacheWriteTokens: 3,
      estimated: true,
    });
    expect(ai.outputTokens as number).toBeGreaterThan(1);
  });

  test('a client leaving a translated stream (OpenAI client, Anthropic provider) is metered too', async () => {
    let received = '';
    for await (const chunk of await openai.chat.completions.create({
      model: 'slow-claude',
      messages: [{ role: 'user', content: LONG }],
      stream: true,
    })) {
      received += chunk.choices[0]?.delta.content ?? '';
      if (received.includes('word5 ')) break;
    }
    const ai = (await next()).ai as Record<string, number | boolean>;
    expect(ai).toMatchObject({ inputTokens: LONG.split(' ').length + 10, estimated: true });
    expect(ai.outputTokens as number).toBeGreaterThanOrEqual(countTokens(received));
  });

  test('a stream ends with the usage in an HTTP trailer', async () => {
    const response = await request(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'slow-gpt', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(response.headers.trailer).toBe('x-tollgate-usage');
    const text = await response.body.text();
    expect(text.trim().endsWith('data: [DONE]')).toBe(true);
    expect(text).not.toContain('"usage":{');
    const reported = slowOpenAI.reported.at(-1)!;
    expect(parseUsageHeader(String(response.trailers['x-tollgate-usage']))).toMatchObject({
      input: String(reported.inputTokens),
      output: String(reported.outputTokens),
      estimated: 'false',
    });
    await next();
  });

  test('GenAI metrics carry tokens, cost, duration and time to first token per provider and model', async () => {
    const before = await gateway.metrics();
    const series = {
      gen_ai_operation_name: 'chat',
      gen_ai_provider_name: 'anthropic',
      gen_ai_request_model: 'slow-claude',
      tollgate_provider: 'ai/slow-anthropic',
      tollgate_route: 'ai/llm/2/0',
    };
    const read = (metrics: string) => ({
      input: sample(metrics, 'gen_ai_client_token_usage_sum', { ...series, gen_ai_token_type: 'input' }),
      output: sample(metrics, 'gen_ai_client_token_usage_sum', { ...series, gen_ai_token_type: 'output' }),
      cost: sample(metrics, 'tollgate_ai_cost_micros_total', { ...series, currency: 'EUR' }),
      ttft: sample(metrics, 'gen_ai_server_time_to_first_token_seconds_count', series),
      duration: sample(metrics, 'gen_ai_client_operation_duration_seconds_count', {
        ...series,
        error_type: '',
      }),
      cached: sample(metrics, 'tollgate_ai_tokens_total', {
        ...series,
        gen_ai_token_type: 'cached_input',
        estimated: 'false',
      }),
    });
    const start = read(before);
    await anthropic.messages
      .stream({ model: 'slow-claude', max_tokens: 64, messages: [{ role: 'user', content: 'one two' }] })
      .finalMessage();
    const record = (await next()).ai as Record<string, number>;
    const end = read(await gateway.metrics());
    const reported = slowAnthropic.reported.at(-1)!;
    expect(end.input - start.input).toBe(reported.inputTokens);
    expect(end.output - start.output).toBe(reported.outputTokens);
    expect(end.cached - start.cached).toBe(reported.cachedInputTokens);
    // 0.15 / 0.6 EUR per million: cost in micro-euros is tokens × price.
    const cost = Math.floor((reported.inputTokens * 15 + reported.outputTokens * 60 + 50) / 100);
    expect(record.costMicros).toBe(cost);
    expect(end.cost - start.cost).toBe(cost);
    expect(end.ttft - start.ttft).toBe(1);
    expect(end.duration - start.duration).toBe(1);
  });
});
