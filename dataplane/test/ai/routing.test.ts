// Model routing: the data plane reads the model from the body and routes on it (exact, alias,
// glob), rewrites it per backend, lists what it serves, and leaves plain routes plain.
import Anthropic from '@anthropic-ai/sdk';
import { type MockProvider, startOpenAIMock, startUpstream, type TestUpstream } from '@tollgate/testkit';
import OpenAI from 'openai';
import { accessLines, type Gateway, providerObjects, routeObject, startGateway } from './helpers.ts';

const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'hi' }];

describe('routing on the requested model', () => {
  let cloud: MockProvider;
  let local: MockProvider;
  let plain: TestUpstream;
  let gateway: Gateway;
  let openai: OpenAI;

  beforeAll(async () => {
    [cloud, local, plain] = await Promise.all([
      startOpenAIMock(),
      startOpenAIMock({ variant: 'openai-compatible' }),
      startUpstream('plain'),
    ]);
    gateway = await startGateway([
      ...providerObjects({
        name: 'cloud',
        apiKey: cloud.apiKey,
        spec: {
          type: 'openai',
          baseURL: cloud.baseURL,
          models: [{ name: 'gpt-4o', aliases: ['smart'] }, { name: 'gpt-4o-mini' }, { name: 'gpt-4.1' }],
        },
      }),
      ...providerObjects({
        name: 'local',
        apiKey: local.apiKey,
        spec: { type: 'openai-compatible', baseURL: local.baseURL },
      }),
      routeObject('llm', [
        {
          name: 'exact',
          matches: [{ path: { value: '/v1' }, model: { value: 'gpt-4o' } }],
          backendRefs: [{ kind: 'AIProvider', name: 'cloud' }],
        },
        {
          name: 'family',
          matches: [{ path: { value: '/v1' }, model: { type: 'Glob', value: 'gpt-4*' } }],
          backendRefs: [{ kind: 'AIProvider', name: 'cloud' }],
        },
        {
          name: 'open-models',
          matches: [{ path: { value: '/v1' }, model: { type: 'Glob', value: 'llama*' } }],
          backendRefs: [{ kind: 'AIProvider', name: 'local', model: 'llama3.1:8b' }],
        },
        {
          name: 'legacy',
          matches: [{ path: { value: '/v1' }, model: { type: 'Glob', value: 'legacy-*' } }],
          backendRefs: [{ url: plain.url }],
        },
      ]),
    ]);
    openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'k', maxRetries: 0 });
  });

  afterAll(async () => {
    await gateway?.close();
    await Promise.all([cloud?.close(), local?.close(), plain?.close()]);
  });

  test('an alias matches the Exact rule of its model and reaches the provider as the model name', async () => {
    await openai.chat.completions.create({ model: 'smart', messages });
    expect(cloud.requests.at(-1)!.body!.model).toBe('gpt-4o');
    expect((await accessLines(gateway, 1))[0]!.route).toBe('ai/llm/0/0');
  });

  test('a glob match routes a model family; the model is sent as asked', async () => {
    await openai.chat.completions.create({ model: 'gpt-4.1', messages });
    expect(cloud.requests.at(-1)!.body!.model).toBe('gpt-4.1');
    expect((await accessLines(gateway, 2))[1]!.route).toBe('ai/llm/1/0');
  });

  test('a backend model rewrites the name sent upstream', async () => {
    const completion = await openai.chat.completions.create({ model: 'llama-anything', messages });
    expect(local.requests.at(-1)!.body!.model).toBe('llama3.1:8b');
    expect(completion.model).toBe('llama3.1:8b');
  });

  test('a model that no rule matches is a 404 in the caller’s format', async () => {
    const error = await openai.chat.completions
      .create({ model: 'claude-3', messages })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect((error as InstanceType<typeof OpenAI.NotFoundError>).code).toBe('TG_ERR_AI_MODEL_NOT_FOUND');
    const anthropic = new Anthropic({ baseURL: gateway.url, apiKey: 'k', maxRetries: 0 });
    const again = await anthropic.messages
      .create({ model: 'claude-3', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect(again).toBeInstanceOf(Anthropic.NotFoundError);
    expect((again as { error?: unknown }).error).toMatchObject({
      type: 'error',
      error: { type: 'not_found_error' },
    });
  });

  test('a rule matched by glob still refuses a model its provider does not list', async () => {
    const error = await openai.chat.completions
      .create({ model: 'gpt-4-unknown', messages })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
  });

  test('GET /v1/models lists the models the routes expose, for both clients', async () => {
    const ids: string[] = [];
    for await (const model of openai.models.list()) ids.push(model.id);
    expect(ids).toEqual(['gpt-4.1', 'gpt-4o', 'gpt-4o-mini', 'llama3.1:8b', 'smart']);
    const anthropic = new Anthropic({ baseURL: gateway.url, apiKey: 'k', maxRetries: 0 });
    const listed: string[] = [];
    for await (const model of anthropic.models.list()) listed.push(model.id);
    expect(listed).toEqual(ids);
  });

  test('a model-matched rule with a plain backend forwards the body untouched', async () => {
    const body = JSON.stringify({ model: 'legacy-1', messages: [{ role: 'user', content: 'keep me' }] });
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(response.status).toBe(200);
    await response.text();
    expect(plain.requests.at(-1)!.body).toBe(body);
    const lines = await accessLines(gateway, 9);
    expect(lines.at(-1)!.ai).toBeUndefined();
    expect(lines.at(-1)!.cluster).toBe(`url/${plain.url}`);
  });
});
