// Google adapters beyond the shared conformance table: Vertex AI's service-account tokens (one
// exchange for many requests, single-flight, refresh before expiry, refused keys) and the Gemini
// wire details (error bodies, retry hints, finish reasons, thinking tokens).
import { generateKeyPairSync } from 'node:crypto';
import { type GeminiMock, startGeminiMock, waitFor } from '@tollgate/testkit';
import OpenAI from 'openai';
import { parseGeminiError } from '../../src/ai/formats/gemini/errors.ts';
import { toGeminiRequest } from '../../src/ai/formats/gemini/request.ts';
import { fromGeminiResponse } from '../../src/ai/formats/gemini/response.ts';
import { toGeminiSchema } from '../../src/ai/formats/gemini/schema.ts';
import { GeminiStreamDecoder } from '../../src/ai/formats/gemini/stream.ts';
import { geminiAdapter } from '../../src/ai/providers/gemini/index.ts';
import type { PrepareInput } from '../../src/ai/providers/types.ts';
import { parseServiceAccountKey } from '../../src/ai/providers/vertex-ai/service-account.ts';
import { ServiceAccountTokens, TokenError } from '../../src/ai/providers/vertex-ai/token.ts';
import { accessLines, type Gateway, providerObjects, routeObject, startGateway } from './helpers.ts';

function vertexProvider(name: string, mock: GeminiMock, serviceAccountKey: string): unknown[] {
  return providerObjects({
    name,
    spec: {
      type: 'vertex-ai',
      baseURL: mock.baseURL,
      vertex: { project: 'tollgate-test', location: 'europe-west4' },
      auth: { gcp: { serviceAccountKeyRef: { name: `${name}-key`, key: 'api-key' } } },
      models: [{ name: 'gemini-2.5-pro' }],
    },
    apiKey: serviceAccountKey,
  });
}

/** The mock's service-account key with another private key: its JWTs fail signature checks. */
function forgedKey(mock: GeminiMock): string {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return JSON.stringify({
    ...(JSON.parse(mock.serviceAccountKey) as Record<string, unknown>),
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  });
}

describe('Vertex AI service-account tokens', () => {
  let mock: GeminiMock;

  beforeEach(async () => {
    mock = await startGeminiMock({ variant: 'vertex-ai', tokenLifetimeSeconds: 3600 });
  });
  afterEach(async () => {
    await mock?.close();
  });

  test('concurrent callers share one token exchange, and later callers reuse the cached token', async () => {
    const tokens = new ServiceAccountTokens(parseServiceAccountKey(mock.serviceAccountKey)!);
    const first = await Promise.all(Array.from({ length: 8 }, () => tokens.token()));
    expect(new Set(first).size).toBe(1);
    expect(await tokens.token()).toBe(first[0]);
    expect(mock.tokenRequests).toBe(1);
  });

  test('a token is replaced before it expires, and invalidate() forces a new exchange', async () => {
    let now = Date.now();
    const tokens = new ServiceAccountTokens(parseServiceAccountKey(mock.serviceAccountKey)!, () => now);
    const first = await tokens.token();
    now += 50 * 60_000;
    expect(await tokens.token()).toBe(first);
    expect(mock.tokenRequests).toBe(1);
    // Within five minutes of its expiry the token is no longer handed out.
    now += 6 * 60_000;
    const second = await tokens.token();
    expect(second).not.toBe(first);
    expect(mock.tokenRequests).toBe(2);
    tokens.invalidate();
    expect(await tokens.token()).not.toBe(second);
    expect(mock.tokenRequests).toBe(3);
  });

  test('a key whose signature the token endpoint rejects fails with a TokenError, and is retried next time', async () => {
    const tokens = new ServiceAccountTokens(parseServiceAccountKey(forgedKey(mock))!);
    await expect(tokens.token()).rejects.toThrow(TokenError);
    await expect(tokens.token()).rejects.toThrow(/Invalid JWT Signature/);
    expect(mock.tokenRequests).toBe(2);
  });

  test('text that is not a service-account key is refused by the parser', () => {
    expect(parseServiceAccountKey('sk-not-json')).toBeUndefined();
    expect(parseServiceAccountKey(JSON.stringify({ type: 'authorized_user' }))).toBeUndefined();
  });
});

describe('Vertex AI through the gateway', () => {
  let mock: GeminiMock;
  let gateway: Gateway;
  let openai: OpenAI;

  beforeAll(async () => {
    mock = await startGeminiMock({ variant: 'vertex-ai' });
    gateway = await startGateway([
      ...vertexProvider('vertex', mock, mock.serviceAccountKey),
      ...vertexProvider('forged', mock, forgedKey(mock)),
      routeObject('llm', [
        {
          matches: [{ path: { value: '/v1' }, model: { value: 'forged' } }],
          backendRefs: [{ kind: 'AIProvider', name: 'forged', model: 'gemini-2.5-pro' }],
        },
        { matches: [{ path: { value: '/v1' } }], backendRefs: [{ kind: 'AIProvider', name: 'vertex' }] },
      ]),
    ]);
    openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'client-key', maxRetries: 0 });
  });
  afterAll(async () => {
    await gateway?.close();
    await mock?.close();
  });

  test('many requests, concurrent and streamed, cost one token exchange, each sent with the bearer token', async () => {
    const before = mock.tokenRequests;
    const ask = () =>
      openai.chat.completions.create({
        model: 'gemini-2.5-pro',
        messages: [{ role: 'user', content: 'hi' }],
      });
    const answers = await Promise.all([ask(), ask(), ask(), ask()]);
    for (const answer of answers) expect(answer.choices[0]!.message.content).toBe('Echo: hi ☕ café');
    let text = '';
    for await (const chunk of await openai.chat.completions.create({
      model: 'gemini-2.5-pro',
      messages: [{ role: 'user', content: 'again' }],
      stream: true,
    }))
      text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('Echo: again ☕ café');
    expect(mock.tokenRequests - before).toBe(1);
    const calls = mock.requests.filter((r) => r.url.includes('/publishers/google/models/gemini-2.5-pro:'));
    expect(calls).toHaveLength(5);
    for (const call of calls) expect(String(call.headers.authorization)).toMatch(/^Bearer ya29\.mock-/);
    expect(calls.at(-1)!.url).toBe(
      '/v1/projects/tollgate-test/locations/europe-west4/publishers/google/models/gemini-2.5-pro:streamGenerateContent?alt=sse',
    );
  });

  test('a token the provider stops accepting fails one request, and the next one exchanges a new token', async () => {
    const ask = () =>
      openai.chat.completions.create({
        model: 'gemini-2.5-pro',
        messages: [{ role: 'user', content: 'hi' }],
      });
    await ask();
    const before = mock.tokenRequests;
    mock.revokeTokens();
    const error = await ask().catch((e: unknown) => e);
    expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe('TG_ERR_AI_PROVIDER_AUTH');
    const answer = await ask();
    expect(answer.choices[0]!.message.content).toBe('Echo: hi ☕ café');
    expect(mock.tokenRequests - before).toBe(1);
  });

  test('a service account the token endpoint refuses gives the caller a 502 naming the refusal, logs the reason, sends nothing, and logs no key', async () => {
    const modelCalls = () => mock.requests.filter((r) => r.url.includes('/publishers/')).length;
    const before = modelCalls();
    const error = await openai.chat.completions
      .create({ model: 'forged', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    const apiError = error as InstanceType<typeof OpenAI.APIError>;
    expect(apiError.status).toBe(502);
    expect(apiError.code).toBe('TG_ERR_AI_PROVIDER_AUTH');
    // The token endpoint's own words reach the caller and the access log.
    expect(apiError.message).toContain('OAuth token exchange');
    expect(apiError.message).toContain('Invalid JWT Signature.');
    expect(modelCalls()).toBe(before);
    const line = await waitFor(() =>
      gateway
        .accessLogs()
        .find((l) => (l.ai as { requestModel?: string } | undefined)?.requestModel === 'forged'),
    );
    expect((line.ai as { error?: string }).error).toContain('Invalid JWT Signature.');
    const logs = JSON.stringify(gateway.logs);
    expect(logs).not.toContain('PRIVATE KEY');
    expect(logs).not.toContain('ya29.mock-');
  });
});

describe('Vertex AI with ambient credentials', () => {
  let mock: GeminiMock;
  let gateway: Gateway;
  const saved = process.env.GCE_METADATA_HOST;

  beforeAll(async () => {
    mock = await startGeminiMock({ variant: 'vertex-ai' });
    process.env.GCE_METADATA_HOST = new URL(mock.baseURL).host;
    gateway = await startGateway([
      ...providerObjects({
        name: 'ambient',
        spec: {
          type: 'vertex-ai',
          baseURL: mock.baseURL,
          vertex: { project: 'tollgate-test', location: 'global' },
          models: [{ name: 'gemini-2.5-flash' }],
        },
      }),
      routeObject('llm', [
        { matches: [{ path: { value: '/v1' } }], backendRefs: [{ kind: 'AIProvider', name: 'ambient' }] },
      ]),
    ]);
  });
  afterAll(async () => {
    if (saved === undefined) delete process.env.GCE_METADATA_HOST;
    else process.env.GCE_METADATA_HOST = saved;
    await gateway?.close();
    await mock?.close();
  });

  test('without a service-account key, the metadata server token authorises the requests (fetched once)', async () => {
    const openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'client-key', maxRetries: 0 });
    for (const content of ['one', 'two']) {
      const answer = await openai.chat.completions.create({
        model: 'gemini-2.5-flash',
        messages: [{ role: 'user', content }],
      });
      expect(answer.choices[0]!.message.content).toBe(`Echo: ${content} ☕ café`);
    }
    expect(mock.tokenRequests).toBe(1);
    expect(mock.requests.at(-1)!.url).toBe(
      '/v1/projects/tollgate-test/locations/global/publishers/google/models/gemini-2.5-flash:generateContent',
    );
  });
});

describe('Gemini streams cut short', () => {
  let mock: GeminiMock;
  let gateway: Gateway;

  beforeAll(async () => {
    mock = await startGeminiMock({ variant: 'gemini' });
    gateway = await startGateway([
      ...providerObjects({
        name: 'g',
        spec: { type: 'gemini', baseURL: mock.baseURL, models: [{ name: 'gemini-2.5-flash' }] },
        apiKey: mock.apiKey,
      }),
      routeObject('llm', [
        { matches: [{ path: { value: '/v1' } }], backendRefs: [{ kind: 'AIProvider', name: 'g' }] },
      ]),
    ]);
  });
  afterAll(async () => {
    await gateway?.close();
    await mock?.close();
  });

  test('a stream the provider cuts before its final usage is metered with an estimate for the output', async () => {
    mock.enqueue({ kind: 'stream-cut', afterEvents: 2 });
    const openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'client-key', maxRetries: 0 });
    let text = '';
    try {
      for await (const chunk of await openai.chat.completions.create({
        model: 'gemini-2.5-flash',
        messages: [{ role: 'user', content: 'tell me a long story' }],
        stream: true,
      }))
        text += chunk.choices[0]?.delta.content ?? '';
    } catch {
      // The cut may reach the client as a broken stream; what was metered is the point here.
    }
    expect(text.length).toBeGreaterThan(0);
    await accessLines(gateway, 1);
    const record = gateway.aiRecords().at(-1)!;
    expect(record.estimated).toBe(true);
    expect(record.outputTokens as number).toBeGreaterThan(0);
    // The prompt count the provider reported in its first chunks is kept.
    expect(record.inputTokens as number).toBeGreaterThanOrEqual(15);
  });
});

describe('Gemini wire details', () => {
  test('a 429 keeps its Retry-After; without one, the RetryInfo delay is used', () => {
    const body = JSON.stringify({
      error: {
        code: 429,
        message: 'Resource has been exhausted',
        status: 'RESOURCE_EXHAUSTED',
        details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '12s' }],
      },
    });
    expect(parseGeminiError(429, { 'retry-after': '7' }, body)).toMatchObject({
      kind: 'rate_limit',
      retryAfterMs: 7000,
      providerCode: 'RESOURCE_EXHAUSTED',
      message: 'Resource has been exhausted',
    });
    expect(parseGeminiError(429, {}, body).retryAfterMs).toBe(12_000);
  });

  test('401 and 403 are authentication and permission errors; a body that is not JSON keeps its text', () => {
    const denied = JSON.stringify({ error: { code: 403, message: 'denied', status: 'PERMISSION_DENIED' } });
    expect(parseGeminiError(403, {}, denied)).toMatchObject({
      kind: 'permission',
      providerCode: 'PERMISSION_DENIED',
    });
    expect(parseGeminiError(401, {}, '<html>nope</html>')).toMatchObject({
      kind: 'authentication',
      message: '<html>nope</html>',
    });
  });

  test('finish reasons map to OpenAI terms, and thinking tokens count as output and reasoning', () => {
    const response = (finishReason: string) => ({
      candidates: [
        {
          content: { role: 'model', parts: [{ text: 'thinking…', thought: true }, { text: 'hi' }] },
          finishReason,
        },
      ],
      usageMetadata: {
        promptTokenCount: 20,
        candidatesTokenCount: 5,
        thoughtsTokenCount: 7,
        cachedContentTokenCount: 4,
        totalTokenCount: 32,
      },
    });
    const whole = fromGeminiResponse(response('MAX_TOKENS'), 'gemini-2.5-flash');
    expect(whole.completion.choices[0]).toMatchObject({
      finish_reason: 'length',
      message: { content: 'hi' },
    });
    expect(whole.usage).toEqual({
      inputTokens: 20,
      outputTokens: 12,
      cachedInputTokens: 4,
      cacheWriteTokens: 0,
      reasoningTokens: 7,
      estimated: false,
    });
    expect(fromGeminiResponse(response('SAFETY'), 'm').completion.choices[0]!.finish_reason).toBe(
      'content_filter',
    );
    expect(fromGeminiResponse(response('STOP'), 'm').completion.choices[0]!.finish_reason).toBe('stop');
  });

  test('a prompt blocked by Gemini ends with content_filter, whole and streamed', () => {
    const blocked = {
      promptFeedback: { blockReason: 'PROHIBITED_CONTENT' },
      usageMetadata: { promptTokenCount: 9 },
    };
    expect(fromGeminiResponse(blocked, 'm').completion.choices[0]).toMatchObject({
      finish_reason: 'content_filter',
      message: { content: '' },
    });
    const decoder = new GeminiStreamDecoder('m');
    const chunks = decoder.push(Buffer.from(`data: ${JSON.stringify(blocked)}\n\n`));
    expect(chunks.at(-1)!.choices[0]!.finish_reason).toBe('content_filter');
    expect(decoder.state.finished).toBe(true);
    expect(decoder.state.usage).toMatchObject({ inputTokens: 9, outputTokens: 0 });
  });

  test('a stream error event is recorded on the stream state', () => {
    const decoder = new GeminiStreamDecoder('gemini-2.5-flash');
    decoder.push(
      Buffer.from(
        'data: {"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}\r\n\r\n',
      ),
    );
    decoder.end();
    expect(decoder.state.error).toMatchObject({
      status: 503,
      kind: 'overloaded',
      providerCode: 'UNAVAILABLE',
    });
  });
});

describe('unified request → Gemini request', () => {
  test('system turns, tool results by name, sampling settings and tool choice are translated', () => {
    const body = toGeminiRequest({
      model: 'gemini-2.5-flash',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'weather?' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'c1', type: 'function', function: { name: 'lookup', arguments: '{"q":"x"}' } }],
        },
        { role: 'tool', tool_call_id: 'c1', content: 'sunny' },
      ],
      temperature: 0.2,
      top_p: 0.9,
      max_tokens: 100,
      stop: 'END',
      seed: 7,
      reasoning_effort: 'low',
      tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object' } } }],
      tool_choice: { type: 'function', function: { name: 'lookup' } },
    });
    expect(body).toEqual({
      systemInstruction: { parts: [{ text: 'Be brief.' }] },
      contents: [
        { role: 'user', parts: [{ text: 'weather?' }] },
        { role: 'model', parts: [{ functionCall: { name: 'lookup', args: { q: 'x' } } }] },
        { role: 'user', parts: [{ functionResponse: { name: 'lookup', response: { content: 'sunny' } } }] },
      ],
      generationConfig: {
        temperature: 0.2,
        topP: 0.9,
        maxOutputTokens: 100,
        stopSequences: ['END'],
        seed: 7,
        thinkingConfig: { thinkingBudget: 1024 },
      },
      tools: [{ functionDeclarations: [{ name: 'lookup', parameters: { type: 'object' } }] }],
      toolConfig: { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['lookup'] } },
    });
  });
});

describe('Gemini upstream request', () => {
  const input = (model: string, stream: boolean): PrepareInput => ({
    target: {
      ir: {
        id: 'ai/ns/g',
        namespace: 'ns',
        name: 'g',
        type: 'gemini',
        baseURL: 'https://generativelanguage.googleapis.com',
        credentials: { apiKey: 'AIza-test' },
        models: [],
      },
      basePath: '',
      options: {},
    },
    operation: 'chat',
    model,
    stream,
    body: { kind: 'chat', request: { model, messages: [{ role: 'user', content: 'hi' }] } },
    clientHeaders: {},
  });

  test('the key goes in x-goog-api-key, streams ask for SSE, and a "models/" prefix is not doubled', async () => {
    const whole = await geminiAdapter.prepare(input('models/gemini-2.5-flash', false));
    expect(whole.path).toBe('/v1beta/models/gemini-2.5-flash:generateContent');
    expect(whole.headers['x-goog-api-key']).toBe('AIza-test');
    const streamed = await geminiAdapter.prepare(input('gemini-2.5-flash', true));
    expect(streamed.path).toBe('/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse');
    expect(streamed.headers.accept).toBe('text/event-stream');
  });
});

describe('JSON Schema → Gemini Schema', () => {
  test('fields Gemini rejects are dropped, nullable types and $refs are rewritten', () => {
    const schema = {
      $schema: 'http://json-schema.org/draft-07/schema#',
      type: 'object',
      additionalProperties: false,
      properties: {
        city: { type: 'string', description: 'City name' },
        unit: { type: ['string', 'null'], enum: ['c', 'f', null] },
        kind: { const: 'weather' },
        days: { type: 'array', items: { $ref: '#/$defs/day' } },
        note: { anyOf: [{ type: 'string' }, { type: 'null' }] },
      },
      required: ['city'],
      $defs: { day: { type: 'object', additionalProperties: false, properties: { n: { type: 'integer' } } } },
    };
    expect(toGeminiSchema(schema)).toEqual({
      type: 'object',
      properties: {
        city: { type: 'string', description: 'City name' },
        unit: { type: 'string', nullable: true, enum: ['c', 'f', null] },
        kind: { enum: ['weather'] },
        days: { type: 'array', items: { type: 'object', properties: { n: { type: 'integer' } } } },
        note: { type: 'string', nullable: true },
      },
      required: ['city'],
    });
  });

  test('a recursive $ref stops at a bounded depth instead of looping', () => {
    const schema = {
      $defs: { node: { type: 'object', properties: { next: { $ref: '#/$defs/node' } } } },
      $ref: '#/$defs/node',
    };
    expect(JSON.stringify(toGeminiSchema(schema)).length).toBeLessThan(2000);
  });
});
