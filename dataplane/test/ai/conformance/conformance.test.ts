// The shared conformance suite: every provider adapter (one row of ADAPTER_CASES), driven by the
// official OpenAI and Anthropic SDKs (unchanged but for baseURL and apiKey; retries off so no
// client retry can hide a gateway error), against the real Dataplane and a mock provider speaking
// the provider's documented wire format.
import Anthropic from '@anthropic-ai/sdk';
import type { MockProvider, MockUsage } from '@tollgate/testkit';
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import OpenAI from 'openai';
import { parseUsageHeader } from '../../../src/ai/index.ts';
import { accessLines, type Gateway, providerObjects, routeObject, startGateway } from '../helpers.ts';
import { ADAPTER_CASES, type AdapterCase } from './adapter-cases.ts';

/** A prompt whose echo streams long enough (in small awkward pieces) for a client to leave midway. */
const LONG = Array.from({ length: 300 }, (_, i) => `word${i}`).join(' ');

const PRICING = {
  currency: 'USD',
  inputPerMillion: '2.50',
  outputPerMillion: '10',
  cachedInputPerMillion: '1.25',
  cacheWritePerMillion: '3.75',
};

/** The cost the gateway must meter, computed independently in hundredths of a micro-unit. */
function expectedCostMicros(u: MockUsage): number {
  const plain = u.inputTokens - u.cachedInputTokens - u.cacheWriteTokens;
  const hundredths =
    plain * 250 + u.cachedInputTokens * 125 + u.cacheWriteTokens * 375 + u.outputTokens * 1000;
  return Math.floor((hundredths + 50) / 100);
}

const TOOLS: OpenAI.ChatCompletionTool[] = [
  {
    type: 'function',
    function: {
      name: 'lookup',
      description: 'Looks something up',
      parameters: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] },
    },
  },
];
const ANTHROPIC_TOOLS: Anthropic.Tool[] = [
  {
    name: 'lookup',
    description: 'Looks something up',
    input_schema: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] },
  },
];

describe.each(ADAPTER_CASES)('adapter $type', (row: AdapterCase) => {
  let mock: MockProvider;
  let awkward: MockProvider;
  let quiet: MockProvider;
  let gateway: Gateway;
  let openai: OpenAI;
  let anthropic: Anthropic;
  let served = 0;
  const model = row.chatModel;
  const models = (extra: string[] = []) =>
    [row.chatModel, ...(row.embeddingsModel ? [row.embeddingsModel] : []), ...extra].map((name) => ({
      name,
      pricing: PRICING,
    }));
  const backend = (name: string) => ({ kind: 'AIProvider', name, model });

  beforeAll(async () => {
    mock = await row.startMock();
    awkward = await row.startMock({ framing: { lineEnd: '\r\n', splitWrites: true, comments: true } });
    quiet = await row.startMock({ usage: false });
    gateway = await startGateway([
      ...providerObjects({
        name: 'p',
        spec: { ...row.spec(mock, 'p'), models: models() },
        apiKey: mock.apiKey,
      }),
      ...providerObjects({
        name: 'wrong',
        spec: { ...row.spec(mock, 'wrong'), models: models() },
        apiKey: 'sk-wrong-key-0123456789',
      }),
      ...providerObjects({
        name: 'limited',
        spec: { ...row.spec(mock, 'limited'), models: models() },
        apiKey: mock.apiKey,
      }),
      ...providerObjects({
        name: 'awkward',
        spec: { ...row.spec(awkward, 'awkward'), models: models() },
        apiKey: awkward.apiKey,
      }),
      ...providerObjects({
        name: 'quiet',
        spec: { ...row.spec(quiet, 'quiet'), models: models() },
        apiKey: quiet.apiKey,
      }),
      routeObject('llm', [
        {
          matches: [{ path: { value: '/v1' }, model: { value: 'quiet' } }],
          backendRefs: [backend('quiet')],
        },
        {
          matches: [{ path: { value: '/v1' }, model: { value: 'wrong-key' } }],
          backendRefs: [backend('wrong')],
        },
        {
          matches: [{ path: { value: '/v1' }, model: { value: 'limited' } }],
          backendRefs: [backend('limited')],
        },
        {
          matches: [{ path: { value: '/v1' }, model: { value: 'awkward' } }],
          backendRefs: [backend('awkward')],
        },
        { matches: [{ path: { value: '/v1' } }], backendRefs: [{ kind: 'AIProvider', name: 'p' }] },
      ]),
    ]);
    openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'client-key', maxRetries: 0 });
    anthropic = new Anthropic({ baseURL: gateway.url, apiKey: 'client-key', maxRetries: 0 });
  });

  afterAll(async () => {
    await gateway?.close();
    await mock?.close();
    await awkward?.close();
    await quiet?.close();
  });

  /** The access-log `ai` record of the request just made. */
  async function metered(): Promise<Record<string, unknown>> {
    served++;
    const lines = await accessLines(gateway, served);
    return lines[served - 1]!.ai as Record<string, unknown>;
  }

  function expectExact(record: Record<string, unknown>, reported: MockUsage | undefined): void {
    expect(reported).toBeDefined();
    expect(record).toMatchObject({
      inputTokens: reported!.inputTokens,
      outputTokens: reported!.outputTokens,
      cachedInputTokens: reported!.cachedInputTokens,
      cacheWriteTokens: reported!.cacheWriteTokens,
      reasoningTokens: reported!.reasoningTokens,
      estimated: false,
      costMicros: expectedCostMicros(reported!),
      currency: 'USD',
      provider: 'ai/p',
      providerType: row.type,
    });
  }

  const messages: OpenAI.ChatCompletionMessageParam[] = [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'hello there' },
  ];

  test('OpenAI client: a chat completion returns the reply, with usage metered exactly as reported', async () => {
    const { data, response } = await openai.chat.completions.create({ model, messages }).withResponse();
    expect(data.choices[0]!.message.content).toBe('Echo: hello there ☕ café');
    expect(data.choices[0]!.finish_reason).toBe('stop');
    const reported = mock.reported.at(-1)!;
    expect(data.usage?.prompt_tokens).toBe(reported.inputTokens);
    expect(data.usage?.completion_tokens).toBe(reported.outputTokens);
    const header = parseUsageHeader(response.headers.get('x-tollgate-usage') ?? '');
    expect(header).toMatchObject({
      input: String(reported.inputTokens),
      output: String(reported.outputTokens),
      cost_micros: String(expectedCostMicros(reported)),
      currency: 'USD',
      estimated: 'false',
    });
    expectExact(await metered(), reported);
  });

  test('both SDKs configured with nothing but the base URL and a key work as they come', async () => {
    const plainOpenAI = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'client-key' });
    const completion = await plainOpenAI.chat.completions.create({ model, messages });
    expect(completion.choices[0]!.message.content).toBe('Echo: hello there ☕ café');
    await metered();
    const plainAnthropic = new Anthropic({ baseURL: gateway.url, apiKey: 'client-key' });
    const message = await plainAnthropic.messages
      .stream({ model, max_tokens: 64, messages: [{ role: 'user', content: 'hello there' }] })
      .finalMessage();
    expect(message.content[0]).toMatchObject({ type: 'text', text: 'Echo: hello there ☕ café' });
    expectExact(await metered(), mock.reported.at(-1));
  });

  test('OpenAI client: a stream with usage asked for delivers the text and one usage chunk; metering is exact', async () => {
    const stream = await openai.chat.completions.create({
      model,
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    const usages: OpenAI.CompletionUsage[] = [];
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usages.push(chunk.usage);
    }
    expect(text).toBe('Echo: hello there ☕ café');
    const reported = mock.reported.at(-1)!;
    expect(usages).toHaveLength(1);
    expect(usages[0]).toMatchObject({
      prompt_tokens: reported.inputTokens,
      completion_tokens: reported.outputTokens,
    });
    const record = await metered();
    expectExact(record, reported);
    expect(record).toMatchObject({ stream: true, api: 'openai' });
    expect(typeof record.ttftMs).toBe('number');
  });

  test('OpenAI client: a stream without usage asked for carries no usage chunk, yet is metered exactly', async () => {
    const stream = await openai.chat.completions.create({ model, messages, stream: true });
    let text = '';
    let usageOnlyChunks = 0;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.choices.length === 0) usageOnlyChunks++;
    }
    expect(text).toBe('Echo: hello there ☕ café');
    expect(usageOnlyChunks).toBe(0);
    expectExact(await metered(), mock.reported.at(-1));
  });

  test('OpenAI client: tool calls come back as tool_calls, and a tool result continues the conversation', async () => {
    const first = await openai.chat.completions.create({
      model,
      messages: [{ role: 'user', content: 'weather in Paris' }],
      tools: TOOLS,
    });
    const choice = first.choices[0]!;
    expect(choice.finish_reason).toBe('tool_calls');
    const call = choice.message.tool_calls?.[0];
    expect(call?.type).toBe('function');
    if (call?.type !== 'function') throw new Error('expected a function call');
    expect(call.function.name).toBe('lookup');
    expect(JSON.parse(call.function.arguments)).toEqual({ query: 'weather in Paris' });
    expectExact(await metered(), mock.reported.at(-1));

    const second = await openai.chat.completions.create({
      model,
      tools: TOOLS,
      messages: [
        { role: 'user', content: 'weather in Paris' },
        { role: 'assistant', content: null, tool_calls: [call] },
        { role: 'tool', tool_call_id: call.id, content: 'sunny' },
      ],
    });
    expect(second.choices[0]!.message.content).toBe('The tool said: sunny');
    expectExact(await metered(), mock.reported.at(-1));
  });

  test('OpenAI client: streamed tool-call deltas assemble into the call', async () => {
    const stream = await openai.chat.completions.create({
      model,
      messages: [{ role: 'user', content: 'weather in Rome' }],
      tools: TOOLS,
      stream: true,
    });
    let name = '';
    let args = '';
    let finish: string | null = null;
    for await (const chunk of stream) {
      for (const call of chunk.choices[0]?.delta.tool_calls ?? []) {
        name += call.function?.name ?? '';
        args += call.function?.arguments ?? '';
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(name).toBe('lookup');
    expect(JSON.parse(args)).toEqual({ query: 'weather in Rome' });
    expect(finish).toBe('tool_calls');
    expectExact(await metered(), mock.reported.at(-1));
  });

  test('OpenAI client: multi-part content with an image reaches the provider in its format', async () => {
    await openai.chat.completions.create({
      model,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'what is this' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
          ],
        },
      ],
    });
    await metered();
    const sent = mock.requests.at(-1)!.body!;
    if (row.expectSentImage) return row.expectSentImage(sent);
    const content = (sent.messages as Array<{ content: unknown }>).at(-1)!.content;
    if (row.type === 'anthropic') {
      expect(content).toContainEqual({
        type: 'image',
        source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' },
      });
    } else {
      expect(content).toContainEqual({
        type: 'image_url',
        image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' },
      });
    }
  });

  test('OpenAI client: response_format reaches the provider (natively, or as an instruction)', async () => {
    const schema = { type: 'object', properties: { answer: { type: 'string' } } };
    await openai.chat.completions.create({
      model,
      messages,
      response_format: { type: 'json_schema', json_schema: { name: 'answer', schema } },
    });
    await metered();
    const sent = mock.requests.at(-1)!.body!;
    if (row.expectSentResponseFormat) row.expectSentResponseFormat(sent, schema);
    else if (row.type === 'anthropic') {
      // system is a string, or text blocks when there are several instructions.
      const system = Array.isArray(sent.system)
        ? (sent.system as Array<{ text: string }>).map((block) => block.text).join('\n')
        : String(sent.system);
      expect(system).toContain(JSON.stringify(schema));
    } else
      expect(sent.response_format).toEqual({ type: 'json_schema', json_schema: { name: 'answer', schema } });
  });

  if (row.embeddingsModel && row.embeddingsUsageReported !== false) {
    test('OpenAI client: embeddings come back with usage metered exactly', async () => {
      const before = mock.reported.length;
      const result = await openai.embeddings.create({
        model: row.embeddingsModel!,
        input: ['one two', 'three'],
      });
      expect(result.data).toHaveLength(2);
      expect(result.data.map((d) => d.index)).toEqual([0, 1]);
      expect(result.data[0]!.embedding.length).toBeGreaterThan(0);
      expect(mock.reported.length).toBe(before + 1);
      const reported = mock.reported.at(-1)!;
      expect(result.usage.prompt_tokens).toBe(reported.inputTokens);
      const record = await metered();
      expect(record).toMatchObject({
        operation: 'embeddings',
        inputTokens: reported.inputTokens,
        outputTokens: 0,
        estimated: false,
        provider: 'ai/p',
        providerType: row.type,
      });
    });
  } else if (row.embeddingsModel) {
    test('OpenAI client: embeddings come back; the provider reports no usage, so it is estimated and marked so', async () => {
      const result = await openai.embeddings.create({
        model: row.embeddingsModel!,
        input: ['one two', 'three'],
      });
      expect(result.data).toHaveLength(2);
      expect(result.data[1]!.embedding.length).toBeGreaterThan(0);
      const record = await metered();
      expect(record).toMatchObject({
        operation: 'embeddings',
        outputTokens: 0,
        estimated: true,
        provider: 'ai/p',
        providerType: row.type,
      });
      expect(record.inputTokens).toBeGreaterThan(0);
      expect(result.usage.prompt_tokens).toBe(record.inputTokens);
    });
  } else {
    test('OpenAI client: embeddings are refused with a clear 400 (the provider has none)', async () => {
      const error = await openai.embeddings.create({ model, input: 'x' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      expect((error as InstanceType<typeof OpenAI.BadRequestError>).code).toBe(
        'TG_ERR_AI_OPERATION_UNSUPPORTED',
      );
      await metered();
    });
  }

  test('Anthropic client: a message returns the reply, with usage in Anthropic terms and metered exactly', async () => {
    const message = await anthropic.messages.create({
      model,
      max_tokens: 256,
      system: 'Be brief.',
      messages: [{ role: 'user', content: 'hello there' }],
    });
    expect(message.content[0]).toMatchObject({ type: 'text', text: 'Echo: hello there ☕ café' });
    expect(message.stop_reason).toBe('end_turn');
    const reported = mock.reported.at(-1)!;
    expect(message.usage.input_tokens).toBe(
      reported.inputTokens - reported.cachedInputTokens - reported.cacheWriteTokens,
    );
    expect(message.usage.output_tokens).toBe(reported.outputTokens);
    const record = await metered();
    expectExact(record, reported);
    expect(record.api).toBe('anthropic');
  });

  test('Anthropic client: a stream assembles into the final message, with usage', async () => {
    const stream = anthropic.messages.stream({
      model,
      max_tokens: 256,
      messages: [{ role: 'user', content: 'hello there' }],
    });
    const message = await stream.finalMessage();
    expect(message.content[0]).toMatchObject({ type: 'text', text: 'Echo: hello there ☕ café' });
    const reported = mock.reported.at(-1)!;
    expect(message.usage.output_tokens).toBe(reported.outputTokens);
    expect(message.usage.input_tokens).toBe(
      reported.inputTokens - reported.cachedInputTokens - reported.cacheWriteTokens,
    );
    expectExact(await metered(), reported);
  });

  test('Anthropic client: tool use, whole and streamed', async () => {
    const whole = await anthropic.messages.create({
      model,
      max_tokens: 256,
      tools: ANTHROPIC_TOOLS,
      messages: [{ role: 'user', content: 'weather in Oslo' }],
    });
    expect(whole.stop_reason).toBe('tool_use');
    const use = whole.content.find((b) => b.type === 'tool_use');
    expect(use).toMatchObject({ type: 'tool_use', name: 'lookup', input: { query: 'weather in Oslo' } });
    expectExact(await metered(), mock.reported.at(-1));

    const streamed = await anthropic.messages
      .stream({
        model,
        max_tokens: 256,
        tools: ANTHROPIC_TOOLS,
        messages: [{ role: 'user', content: 'weather in Lima' }],
      })
      .finalMessage();
    expect(streamed.content.find((b) => b.type === 'tool_use')).toMatchObject({
      name: 'lookup',
      input: { query: 'weather in Lima' },
    });
    expectExact(await metered(), mock.reported.at(-1));

    const answer = await anthropic.messages.create({
      model,
      max_tokens: 256,
      tools: ANTHROPIC_TOOLS,
      messages: [
        { role: 'user', content: 'weather in Oslo' },
        { role: 'assistant', content: whole.content },
        {
          role: 'user',
          content: [{ type: 'tool_result', tool_use_id: (use as { id: string }).id, content: 'snowy' }],
        },
      ],
    });
    expect(answer.content[0]).toMatchObject({ type: 'text', text: 'The tool said: snowy' });
    await metered();
  });

  test('streams with CRLF line ends, comment lines and events split across writes arrive intact for both clients', async () => {
    let text = '';
    for await (const chunk of await openai.chat.completions.create({
      model: 'awkward',
      messages,
      stream: true,
      stream_options: { include_usage: true },
    }))
      text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('Echo: hello there ☕ café');
    expect(await metered()).toMatchObject({
      outputTokens: awkward.reported.at(-1)!.outputTokens,
      estimated: false,
    });

    const message = await anthropic.messages
      .stream({ model: 'awkward', max_tokens: 64, messages: [{ role: 'user', content: 'hello there' }] })
      .finalMessage();
    expect(message.content[0]).toMatchObject({ text: 'Echo: hello there ☕ café' });
    expect(await metered()).toMatchObject({
      outputTokens: awkward.reported.at(-1)!.outputTokens,
      estimated: false,
    });
  });

  if (!row.usageAlwaysReported)
    test('a provider that reports no usage is metered with the tokenizer, marked estimated, whole and streamed', async () => {
      const prompt = [{ role: 'user' as const, content: 'hello there' }];
      // The gateway's estimate: the prompt text and the chat framing; the generated text.
      const input = countTokens('hello there\n') + 4;
      const output = countTokens('Echo: hello there ☕ café');
      const whole = await openai.chat.completions.create({ model: 'quiet', messages: prompt });
      expect(whole.choices[0]!.message.content).toBe('Echo: hello there ☕ café');
      // Pass-through answers go back as the provider sent them; translated ones carry the estimate.
      if (whole.usage !== undefined)
        expect(whole.usage).toMatchObject({ prompt_tokens: input, completion_tokens: output });
      expect(await metered()).toMatchObject({
        provider: 'ai/quiet',
        inputTokens: input,
        outputTokens: output,
        estimated: true,
      });
      let text = '';
      for await (const chunk of await openai.chat.completions.create({
        model: 'quiet',
        messages: prompt,
        stream: true,
      }))
        text += chunk.choices[0]?.delta.content ?? '';
      expect(text).toBe('Echo: hello there ☕ café');
      expect(await metered()).toMatchObject({ inputTokens: input, outputTokens: output, estimated: true });
      expect(quiet.reported).toHaveLength(0);
    });

  test('a client leaving mid-stream is metered for what was generated so far, marked estimated', async () => {
    let received = '';
    for await (const chunk of await openai.chat.completions.create({
      model: 'awkward',
      messages: [{ role: 'user', content: LONG }],
      stream: true,
    })) {
      received += chunk.choices[0]?.delta.content ?? '';
      if (received.includes('word5 ')) break;
    }
    served++;
    const line = (await accessLines(gateway, served))[served - 1]!;
    expect(line.errorCode).toBe('TG_ERR_CLIENT_CLOSED');
    const record = line.ai as Record<string, unknown>;
    expect(record).toMatchObject({ provider: 'ai/awkward', providerType: row.type, estimated: true });
    // At least what the client saw, far less than the whole answer (~900 tokens).
    expect(record.outputTokens as number).toBeGreaterThanOrEqual(countTokens(received));
    expect(record.outputTokens as number).toBeLessThan(countTokens(`Echo: ${LONG}`) / 2);
    expect(record.inputTokens as number).toBeGreaterThan(LONG.split(' ').length);
    expect(record.costMicros as number).toBeGreaterThan(0);
  });

  test("an upstream authentication failure is a clear 502 in each caller's format, and the key is never logged", async () => {
    const error = await openai.chat.completions
      .create({ model: 'wrong-key', messages })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    const apiError = error as InstanceType<typeof OpenAI.APIError>;
    expect(apiError.status).toBe(502);
    expect(apiError.code).toBe('TG_ERR_AI_PROVIDER_AUTH');
    expect(apiError.message).toContain('ai/wrong');
    expect(apiError.message).not.toContain('sk-wrong-key-0123456789');
    await metered();

    const anthropicError = await anthropic.messages
      .create({ model: 'wrong-key', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect(anthropicError).toBeInstanceOf(Anthropic.APIError);
    expect((anthropicError as InstanceType<typeof Anthropic.APIError>).status).toBe(502);
    expect((anthropicError as { error?: { type?: string } }).error).toMatchObject({
      type: 'error',
      error: { type: 'api_error' },
    });
    await metered();

    const logs = JSON.stringify(gateway.logs);
    expect(logs).not.toContain('sk-wrong-key-0123456789');
    expect(logs).not.toContain(mock.apiKey);
  });

  test('a 429 from the only provider reaches the caller as 429 with Retry-After', async () => {
    mock.enqueue({ kind: 'status', status: 429, retryAfterSeconds: 7, message: 'slow down' });
    const error = await openai.chat.completions
      .create({ model: 'limited', messages })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    const limited = error as InstanceType<typeof OpenAI.RateLimitError>;
    expect(limited.headers?.get('retry-after')).toBe('7');
    expect(limited.code).toBe('TG_ERR_AI_RATE_LIMITED');
    await metered();
    // The provider now cools down: the next request is answered without asking it.
    const before = mock.requests.length;
    const again = await anthropic.messages
      .create({ model: 'limited', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect((again as InstanceType<typeof Anthropic.APIError>).status).toBe(429);
    expect(mock.requests.length).toBe(before);
    await metered();
  });

  test('no log line of the whole run holds a provider credential', () => {
    const logs = JSON.stringify(gateway.logs);
    expect(gateway.logs.length).toBeGreaterThan(served);
    for (const secret of [
      mock.apiKey,
      awkward.apiKey,
      'sk-wrong-key-0123456789',
      'PRIVATE KEY',
      'ya29.mock-',
    ])
      expect(logs).not.toContain(secret);
  });
});
