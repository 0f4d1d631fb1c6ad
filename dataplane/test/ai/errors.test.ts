// Requests the gateway must refuse itself get a clear error in the caller's API format.
import { Readable } from 'node:stream';
import Anthropic from '@anthropic-ai/sdk';
import { type MockProvider, startOpenAIMock } from '@tollgate/testkit';
import OpenAI from 'openai';
import { request } from 'undici';
import { type Gateway, providerObjects, routeObject, startGateway } from './helpers.ts';

describe('errors in the caller’s format', () => {
  let mock: MockProvider;
  let gateway: Gateway;

  beforeAll(async () => {
    mock = await startOpenAIMock();
    gateway = await startGateway(
      [
        ...providerObjects({
          name: 'p',
          apiKey: mock.apiKey,
          spec: { type: 'openai', baseURL: mock.baseURL, models: [{ name: 'gpt-4o' }] },
        }),
        routeObject('llm', [
          { matches: [{ path: { value: '/v1' } }], backendRefs: [{ kind: 'AIProvider', name: 'p' }] },
        ]),
      ],
      { ai: { maxRequestBodyBytes: 4096 } },
    );
  });

  afterAll(async () => {
    await gateway?.close();
    await mock?.close();
  });

  async function post(path: string, body: string | Readable, headers: Record<string, string> = {}) {
    const response = await request(`${gateway.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });
    return {
      status: response.statusCode,
      headers: response.headers,
      json: (await response.body.json()) as Record<string, unknown>,
    };
  }

  test('malformed JSON is a 400: OpenAI error shape on chat, Anthropic shape on messages', async () => {
    const chat = await post('/v1/chat/completions', '{"model": "gpt-4o", ');
    expect(chat.status).toBe(400);
    expect(chat.headers['x-tollgate-error-code']).toBe('TG_ERR_AI_INVALID_REQUEST');
    expect(chat.json).toMatchObject({
      error: {
        type: 'invalid_request_error',
        code: 'TG_ERR_AI_INVALID_REQUEST',
        message: expect.stringContaining('not valid JSON'),
      },
    });
    const messages = await post('/v1/messages', '[1, 2');
    expect(messages.status).toBe(400);
    expect(messages.json).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
  });

  test('a body nested deeper than 128 levels is a 400; brackets inside strings do not count', async () => {
    const deep = `{"model":"gpt-4o","messages":[{"role":"user","content":"x"}],"tools":${'['.repeat(200)}${']'.repeat(200)}}`;
    const refused = await post('/v1/chat/completions', deep);
    expect(refused.status).toBe(400);
    expect(refused.json).toMatchObject({
      error: { type: 'invalid_request_error', message: expect.stringContaining('more than 128 levels deep') },
    });
    const anthropic = await post('/v1/messages', deep);
    expect(anthropic.status).toBe(400);
    expect(anthropic.json).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
    const bracketsInText = JSON.stringify({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: `${'[{'.repeat(300)}\\"${'}]'.repeat(300)}` }],
    });
    const before = mock.requests.length;
    expect((await post('/v1/chat/completions', bracketsInText)).status).toBe(200);
    expect(mock.requests.length).toBe(before + 1);
  });

  test('a body without a model, or with invalid messages, names the field', async () => {
    const noModel = await post('/v1/chat/completions', JSON.stringify({ messages: [] }));
    expect(noModel.status).toBe(400);
    expect(JSON.stringify(noModel.json)).toContain('model');
    const badMessages = await post(
      '/v1/chat/completions',
      JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'wizard' }] }),
    );
    expect(badMessages.status).toBe(400);
    expect(JSON.stringify(badMessages.json)).toContain('messages.0.role');
    const noMaxTokens = await post(
      '/v1/messages',
      JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }),
    );
    expect(noMaxTokens.status).toBe(400);
    expect(noMaxTokens.json).toMatchObject({
      type: 'error',
      error: { message: expect.stringContaining('max_tokens') },
    });
  });

  test('an oversized body is a 413 in the caller’s format, declared or chunked', async () => {
    const before = mock.requests.length;
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'k', maxRetries: 0 });
    const error = await client.chat.completions
      .create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x'.repeat(10_000) }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(413);
    expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe('TG_ERR_AI_BODY_TOO_LARGE');

    const chunked = await post(
      '/v1/messages',
      Readable.from([Buffer.alloc(3000, 32), Buffer.alloc(3000, 32)]),
    );
    expect(chunked.status).toBe(413);
    expect(chunked.json).toMatchObject({ type: 'error', error: { type: 'request_too_large' } });
    expect(mock.requests.length).toBe(before);
  });

  test('a path that is no AI endpoint is a 404 naming the endpoints', async () => {
    const response = await post('/v1/completions', JSON.stringify({ model: 'gpt-4o', prompt: 'x' }));
    expect(response.status).toBe(404);
    expect(response.json).toMatchObject({ error: { code: 'TG_ERR_AI_ENDPOINT_NOT_FOUND' } });
  });

  test('a request the provider refuses keeps the provider’s status and message', async () => {
    mock.enqueue({ kind: 'status', status: 400, message: "Invalid schema for function 'f'" });
    const anthropic = new Anthropic({ baseURL: gateway.url, apiKey: 'k', maxRetries: 0 });
    const error = await anthropic.messages
      .create({ model: 'gpt-4o', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    expect((error as Error).message).toContain("Invalid schema for function 'f'");
  });

  test("the provider's error code, type and param reach the OpenAI client as the provider sent them, with its status", async () => {
    mock.enqueue({
      kind: 'status',
      status: 400,
      body: {
        error: {
          message: "This model's maximum context length is 128000 tokens.",
          type: 'invalid_request_error',
          param: 'messages',
          code: 'context_length_exceeded',
        },
      },
    });
    const openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'k', maxRetries: 0 });
    const error = await openai.chat.completions
      .create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    const rejected = error as InstanceType<typeof OpenAI.BadRequestError>;
    expect(rejected.code).toBe('context_length_exceeded');
    expect(rejected.param).toBe('messages');
    expect(rejected.type).toBe('invalid_request_error');
    expect(rejected.message).toContain('maximum context length is 128000 tokens');
    expect(rejected.headers?.get('x-tollgate-error-code')).toBe('TG_ERR_AI_PROVIDER_REJECTED');
  });

  test("a provider's 404 and 422 keep their status through the gateway, in the Anthropic client's terms too", async () => {
    mock.enqueue({ kind: 'status', status: 404, message: 'The model `gpt-4o` does not exist' });
    const anthropic = new Anthropic({ baseURL: gateway.url, apiKey: 'k', maxRetries: 0 });
    const notFound = await anthropic.messages
      .create({ model: 'gpt-4o', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(notFound).toBeInstanceOf(Anthropic.NotFoundError);
    expect((notFound as { error?: unknown }).error).toMatchObject({
      type: 'error',
      error: { type: 'not_found_error', message: expect.stringContaining('does not exist') },
    });
    mock.enqueue({ kind: 'status', status: 422, message: 'unprocessable' });
    const openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'k', maxRetries: 0 });
    const unprocessable = await openai.chat.completions
      .create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(unprocessable).toBeInstanceOf(OpenAI.UnprocessableEntityError);
  });

  test('an unreachable provider is a 502 in the caller’s format, naming the provider and not its address', async () => {
    const dead = await startOpenAIMock();
    const url = dead.baseURL;
    await dead.close();
    gateway.apply([
      ...providerObjects({ name: 'gone', spec: { type: 'openai-compatible', baseURL: url } }),
      routeObject('llm', [
        { matches: [{ path: { value: '/v1' } }], backendRefs: [{ kind: 'AIProvider', name: 'gone' }] },
      ]),
    ]);
    const response = await post(
      '/v1/chat/completions',
      JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x' }] }),
    );
    expect(response.status).toBe(502);
    expect(response.json).toMatchObject({
      error: { code: 'TG_ERR_UPSTREAM_CONNECT', message: expect.stringContaining('ai/gone') },
    });
  });
});
