// The bedrock adapter on its own: SigV4 signatures the mock verifies, the binary event stream
// decoded from any split, and AWS exceptions mapped into provider errors.
import { type MockProvider, startBedrockMock } from '@tollgate/testkit';
import { bedrockAdapter } from '../../src/ai/providers/bedrock/index.ts';
import type { PrepareInput, ProviderTarget } from '../../src/ai/providers/types.ts';

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
});
