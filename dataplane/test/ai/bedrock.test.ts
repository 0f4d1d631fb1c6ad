// The bedrock adapter on its own: SigV4 signatures the mock verifies, the binary event stream
// decoded from any split, and AWS exceptions mapped into provider errors.
import { type MockProvider, startBedrockMock } from '@tollgate/testkit';
import { parseBedrockError } from '../../src/ai/providers/bedrock/errors.ts';
import { bedrockAdapter } from '../../src/ai/providers/bedrock/index.ts';
import { toConverseRequest } from '../../src/ai/providers/bedrock/request.ts';
import type { PrepareInput, ProviderTarget, StreamDecoder } from '../../src/ai/providers/types.ts';
import type { ChatChunk } from '../../src/ai/unified.ts';

function targetFor(mock: MockProvider, credentials: Record<string, string>): ProviderTarget {
  return {
    ir: {
      id: 'ai/p',
      namespace: 'ai',
      name: 'p',
      type: 'bedrock',
      baseURL: mock.baseURL,
      credentials,
      models: [],
    },
    basePath: '',
    options: { bedrock: { region: 'us-east-1' } },
  };
}

function inputFor(target: ProviderTarget, stream: boolean, text = 'hello there'): PrepareInput {
  return {
    target,
    operation: 'chat',
    model: 'anthropic.claude-test-v1:0',
    stream,
    body: { kind: 'chat', request: { model: 'm', messages: [{ role: 'user', content: text }] } },
    clientHeaders: {},
  };
}

async function send(mock: MockProvider, input: PrepareInput): Promise<Response> {
  const request = await bedrockAdapter.prepare(input);
  return fetch(`${mock.baseURL}${request.path}`, {
    method: request.method,
    headers: request.headers,
    body: request.body as string,
  });
}

function headersOf(response: Response): Record<string, string> {
  return Object.fromEntries(response.headers.entries());
}

/** What a client would assemble from the chunks: text, tool calls, finish reason. */
function assemble(chunks: ChatChunk[]): { text: string; tools: string; finish: string | null } {
  let text = '';
  let tools = '';
  let finish: string | null = null;
  for (const chunk of chunks) {
    const choice = chunk.choices[0];
    text += choice?.delta.content ?? '';
    for (const call of choice?.delta.tool_calls ?? [])
      tools += `${call.id ?? ''}|${call.function?.name ?? ''}|${call.function?.arguments ?? ''};`;
    finish = choice?.finish_reason ?? finish;
  }
  return { text, tools, finish };
}

function decode(decoder: StreamDecoder, parts: Buffer[]): ChatChunk[] {
  return [...parts.flatMap((part) => decoder.push(part)), ...decoder.end()];
}

const CREDENTIALS = { accessKeyId: 'AKIATEST0123456789', secretAccessKey: 'secret-0123456789' };

describe('bedrock adapter', () => {
  let mock: MockProvider;
  beforeAll(async () => {
    mock = await startBedrockMock({ apiKey: 'AKIATEST0123456789', secretAccessKey: 'secret-0123456789' });
  });
  afterAll(async () => {
    await mock?.close();
  });

  test('signs requests so the provider accepts them, session token included', async () => {
    const target = targetFor(mock, {
      accessKeyId: 'AKIATEST0123456789',
      secretAccessKey: 'secret-0123456789',
      sessionToken: 'session-token-1',
    });
    const response = await send(mock, inputFor(target, false));
    expect(response.status).toBe(200);
    expect(mock.requests.at(-1)!.headers['x-amz-security-token']).toBe('session-token-1');
    const { completion, usage } = bedrockAdapter.chatResponse(await response.json(), inputFor(target, false));
    expect(completion.choices[0]!.message.content).toBe('Echo: hello there ☕ café');
    expect(usage).toMatchObject({ cachedInputTokens: 2, cacheWriteTokens: 3, estimated: false });
  });

  test('a request signed with the wrong secret is refused with AWS 403, mapped to an authentication error', async () => {
    const target = targetFor(mock, { ...CREDENTIALS, secretAccessKey: 'not-the-secret' });
    const response = await send(mock, inputFor(target, false));
    expect(response.status).toBe(403);
    const error = bedrockAdapter.parseError(403, headersOf(response), await response.text());
    expect(error).toMatchObject({ kind: 'authentication', providerCode: 'InvalidSignatureException' });
  });

  test('a request whose body was changed after signing is refused', async () => {
    const target = targetFor(mock, CREDENTIALS);
    const request = await bedrockAdapter.prepare(inputFor(target, false));
    const response = await fetch(`${mock.baseURL}${request.path}`, {
      method: 'POST',
      headers: request.headers,
      body: String(request.body).replace('hello', 'HELLO'),
    });
    expect(response.status).toBe(403);
  });

  test('an unknown access key id is refused as UnrecognizedClientException', async () => {
    const target = targetFor(mock, { ...CREDENTIALS, accessKeyId: 'AKIAUNKNOWN' });
    const response = await send(mock, inputFor(target, false));
    expect(response.status).toBe(403);
    expect(bedrockAdapter.parseError(403, headersOf(response), await response.text()).providerCode).toBe(
      'UnrecognizedClientException',
    );
  });

  test('the event stream decodes the same whatever byte boundary splits it', async () => {
    const target = targetFor(mock, CREDENTIALS);
    for (const text of ['hello there', 'weather in Paris']) {
      const input = inputFor(target, true, text);
      if (text.startsWith('weather') && input.body.kind === 'chat')
        input.body.request.tools = [{ type: 'function', function: { name: 'lookup', parameters: {} } }];
      const response = await send(mock, input);
      expect(response.headers.get('content-type')).toBe('application/vnd.amazon.eventstream');
      const bytes = Buffer.from(await response.arrayBuffer());
      const whole = bedrockAdapter.streamDecoder(input);
      const expected = assemble(decode(whole, [bytes]));
      expect(whole.state.finished).toBe(true);
      expect(whole.state.usage).toMatchObject({
        cachedInputTokens: 2,
        cacheWriteTokens: 3,
        estimated: false,
      });
      for (let at = 1; at < bytes.length; at++) {
        const split = bedrockAdapter.streamDecoder(input);
        expect(assemble(decode(split, [bytes.subarray(0, at), bytes.subarray(at)]))).toEqual(expected);
        expect(split.state.usage).toEqual(whole.state.usage);
      }
      const byteByByte = bedrockAdapter.streamDecoder(input);
      const single = [...bytes].map((b) => Buffer.from([b]));
      expect(assemble(decode(byteByByte, single))).toEqual(expected);
    }
  });

  test('streamed text and tool calls come out as unified chunks', async () => {
    const target = targetFor(mock, CREDENTIALS);
    const input = inputFor(target, true, 'weather in Rome');
    if (input.body.kind === 'chat')
      input.body.request.tools = [{ type: 'function', function: { name: 'lookup', parameters: {} } }];
    const response = await send(mock, input);
    const chunks = decode(bedrockAdapter.streamDecoder(input), [Buffer.from(await response.arrayBuffer())]);
    const calls = chunks.flatMap((chunk) => chunk.choices[0]?.delta.tool_calls ?? []);
    expect(calls[0]).toMatchObject({ index: 0, id: 'tooluse_mock_1', function: { name: 'lookup' } });
    const args = calls.map((call) => call.function?.arguments ?? '').join('');
    expect(JSON.parse(args)).toEqual({ query: 'weather in Rome' });
    expect(assemble(chunks)).toMatchObject({ text: '', finish: 'tool_calls' });
    expect(chunks[0]!.choices[0]!.delta).toEqual({ role: 'assistant', content: '' });
  });

  test('a corrupt frame (bad CRC) is a stream error, not garbage text', async () => {
    const target = targetFor(mock, CREDENTIALS);
    const input = inputFor(target, true);
    const bytes = Buffer.from(await (await send(mock, input)).arrayBuffer());
    const at = bytes.length - 20;
    bytes[at] = bytes[at]! ^ 0xff;
    const decoder = bedrockAdapter.streamDecoder(input);
    decode(decoder, [bytes]);
    expect(decoder.state.error).toMatchObject({ kind: 'server' });
  });

  test('an exception frame mid-stream becomes the stream error with its AWS meaning', async () => {
    const target = targetFor(mock, CREDENTIALS);
    mock.enqueue({ kind: 'stream-error', message: 'Bedrock is busy' });
    const input = inputFor(target, true);
    const decoder = bedrockAdapter.streamDecoder(input);
    decode(decoder, [Buffer.from(await (await send(mock, input)).arrayBuffer())]);
    expect(decoder.state.error).toMatchObject({
      status: 503,
      kind: 'overloaded',
      message: 'Bedrock is busy',
      providerCode: 'ServiceUnavailableException',
    });
  });

  test('a throttled answer is a rate limit that keeps Retry-After', async () => {
    const target = targetFor(mock, CREDENTIALS);
    mock.enqueue({ kind: 'status', status: 429, retryAfterSeconds: 7, message: 'Too many requests' });
    const response = await send(mock, inputFor(target, false));
    expect(response.status).toBe(429);
    expect(bedrockAdapter.parseError(429, headersOf(response), await response.text())).toEqual({
      status: 429,
      kind: 'rate_limit',
      message: 'Too many requests',
      providerCode: 'ThrottlingException',
      retryAfterMs: 7000,
    });
  });

  test.each([
    [400, 'ValidationException', 'invalid_request'],
    [403, 'AccessDeniedException', 'permission'],
    [429, 'ThrottlingException', 'rate_limit'],
    [503, 'ModelNotReadyException', 'overloaded'],
    [503, 'ServiceUnavailableException', 'overloaded'],
    [424, 'ModelErrorException', 'server'],
  ])('status %d %s maps to %s', (status, type, kind) => {
    const error = parseBedrockError(
      status,
      { 'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/` },
      JSON.stringify({ message: 'from AWS' }),
    );
    expect(error).toEqual({ status, kind, message: 'from AWS', providerCode: type });
  });

  test('a unified request becomes a Converse body: system, inference settings, tools, merged tool results', () => {
    const body = toConverseRequest(
      {
        model: 'm',
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'weather?' },
          {
            role: 'assistant',
            content: null,
            tool_calls: [
              { id: 't1', type: 'function', function: { name: 'lookup', arguments: '{"q":"a"}' } },
              { id: 't2', type: 'function', function: { name: 'lookup', arguments: '{"q":"b"}' } },
            ],
          },
          { role: 'tool', tool_call_id: 't1', content: 'sunny' },
          { role: 'tool', tool_call_id: 't2', content: 'rainy' },
        ],
        max_tokens: 100,
        temperature: 1.5,
        top_p: 0.9,
        stop: 'END',
        tools: [{ type: 'function', function: { name: 'lookup', description: 'Looks up', parameters: {} } }],
        tool_choice: 'required',
      },
      undefined,
    );
    expect(body).toEqual({
      system: [{ text: 'Be brief.' }],
      messages: [
        { role: 'user', content: [{ text: 'weather?' }] },
        {
          role: 'assistant',
          content: [
            { toolUse: { toolUseId: 't1', name: 'lookup', input: { q: 'a' } } },
            { toolUse: { toolUseId: 't2', name: 'lookup', input: { q: 'b' } } },
          ],
        },
        {
          role: 'user',
          content: [
            { toolResult: { toolUseId: 't1', content: [{ text: 'sunny' }] } },
            { toolResult: { toolUseId: 't2', content: [{ text: 'rainy' }] } },
          ],
        },
      ],
      inferenceConfig: { maxTokens: 100, temperature: 1, topP: 0.9, stopSequences: ['END'] },
      toolConfig: {
        tools: [{ toolSpec: { name: 'lookup', description: 'Looks up', inputSchema: { json: {} } } }],
        toolChoice: { any: {} },
      },
    });
  });

  test('an image given by URL (not inline data) is refused before anything is sent', () => {
    expect(() =>
      toConverseRequest(
        {
          model: 'm',
          messages: [
            {
              role: 'user',
              content: [{ type: 'image_url', image_url: { url: 'https://example.test/a.png' } }],
            },
          ],
        },
        undefined,
      ),
    ).toThrow('data: URLs');
  });

  function embeddingsInput(model: string, input: string | string[], extra: Record<string, unknown> = {}) {
    const target = targetFor(mock, CREDENTIALS);
    return {
      target,
      operation: 'embeddings' as const,
      model,
      stream: false,
      body: { kind: 'embeddings' as const, request: { model: 'client-name', input, ...extra } },
      clientHeaders: {},
    };
  }

  test('Titan embeddings go through a signed InvokeModel with inputText; usage is the reported token count', async () => {
    const input = embeddingsInput('amazon.titan-embed-text-v2:0', 'one two three', { dimensions: 4 });
    const response = await send(mock, input);
    expect(response.status).toBe(200);
    expect(new URL(mock.requests.at(-1)!.url, 'http://x').pathname).toBe(
      '/model/amazon.titan-embed-text-v2%3A0/invoke',
    );
    expect(mock.requests.at(-1)!.body).toEqual({ inputText: 'one two three', dimensions: 4 });
    const converted = bedrockAdapter.embeddingsResponse!(await response.json(), input, headersOf(response));
    expect(converted.response.data).toHaveLength(1);
    expect(converted.response.data[0]!.embedding).toHaveLength(4);
    expect(converted.usage).toMatchObject({
      inputTokens: mock.reported.at(-1)!.inputTokens,
      estimated: false,
    });
  });

  test('Cohere embeddings batch the texts; base64 is asked for by the client, float32 little-endian comes back', async () => {
    const input = embeddingsInput('cohere.embed-multilingual-v3', ['a b', 'c'], {
      encoding_format: 'base64',
    });
    const response = await send(mock, input);
    expect(mock.requests.at(-1)!.body).toEqual({ texts: ['a b', 'c'], input_type: 'search_document' });
    const json = await response.json();
    const converted = bedrockAdapter.embeddingsResponse!(json, input, headersOf(response));
    const first = Buffer.from(converted.response.data[0]!.embedding as string, 'base64');
    expect(Array.from(new Float32Array(first.buffer, first.byteOffset, first.length / 4))).toEqual(
      (json as { embeddings: number[][] }).embeddings[0]!.map((v) => Math.fround(v)),
    );
    expect(converted.usage?.inputTokens).toBe(mock.reported.at(-1)!.inputTokens);
  });

  test('Titan refuses several inputs in one request, and a chat model is no embeddings model: clear 400s before sending', async () => {
    const before = mock.requests.length;
    await expect(
      bedrockAdapter.prepare(embeddingsInput('amazon.titan-embed-text-v2:0', ['a', 'b'])),
    ).rejects.toThrow(/one text per request/);
    await expect(bedrockAdapter.prepare(embeddingsInput('anthropic.claude-test-v1:0', 'a'))).rejects.toThrow(
      /not an embeddings model/,
    );
    expect(mock.requests.length).toBe(before);
  });
});
