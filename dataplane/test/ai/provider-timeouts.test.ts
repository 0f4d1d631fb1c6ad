// An AIProvider's own timeouts (spec.timeouts.connect and .request) bound each attempt to that
// provider alone: a provider that never completes a connection, or connects and never answers,
// gives way to the next backend after its own deadline, with zero client-visible errors. The
// outcome recorded per attempt tells which deadline fired (connect_error vs timeout): with the
// connection pool's 5 s connect timeout and a 3 s request timeout, only an enforced 200 ms connect
// timeout can make the TLS provider's attempt a connect_error.
import { createServer, type Server, type Socket } from 'node:net';
import { type MockProvider, startOpenAIMock } from '@tollgate/testkit';
import OpenAI from 'openai';
import { type Gateway, providerObjects, routeObject, sample, startGateway } from './helpers.ts';

/** Accepts TCP connections and never says a word: no TLS handshake, no HTTP answer. */
async function startSilentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('per-provider timeouts', () => {
  let silent: Awaited<ReturnType<typeof startSilentServer>>;
  let backup: MockProvider;
  let gateway: Gateway;
  let client: OpenAI;

  beforeAll(async () => {
    silent = await startSilentServer();
    backup = await startOpenAIMock();
    gateway = await startGateway([
      // TLS to a server that never answers the handshake: the connection never opens.
      ...providerObjects({
        name: 'no-handshake',
        spec: {
          type: 'openai-compatible',
          baseURL: `https://127.0.0.1:${silent.port}/v1`,
          timeouts: { connect: '200ms', request: '3s' },
        },
      }),
      // Plain HTTP to the same server: the connection opens, the answer never comes.
      ...providerObjects({
        name: 'mute',
        spec: {
          type: 'openai-compatible',
          baseURL: `http://127.0.0.1:${silent.port}/v1`,
          timeouts: { connect: '200ms', request: '300ms' },
        },
      }),
      ...providerObjects({
        name: 'backup',
        spec: { type: 'openai', baseURL: backup.baseURL },
        apiKey: backup.apiKey,
      }),
      routeObject('llm', [
        {
          matches: [{ path: { value: '/v1' }, model: { value: 'via-no-handshake' } }],
          backendRefs: [
            { kind: 'AIProvider', name: 'no-handshake', model: 'm', priority: 0 },
            { kind: 'AIProvider', name: 'backup', model: 'gpt-4o', priority: 1 },
          ],
        },
        {
          matches: [{ path: { value: '/v1' }, model: { value: 'via-mute' } }],
          backendRefs: [
            { kind: 'AIProvider', name: 'mute', model: 'm', priority: 0 },
            { kind: 'AIProvider', name: 'backup', model: 'gpt-4o', priority: 1 },
          ],
        },
      ]),
    ]);
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'client-key', maxRetries: 0 });
  });

  afterAll(async () => {
    await gateway?.close();
    await backup?.close();
    await silent?.close();
  });

  const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'hello there' }];

  async function attempts(provider: string, outcome: string): Promise<number> {
    return sample(await gateway.metrics(), 'tollgate_ai_upstream_attempts_total', {
      tollgate_provider: provider,
      gen_ai_provider_name: provider === 'ai/backup' ? 'openai' : 'openai-compatible',
      outcome,
    });
  }

  test('a provider whose connection never opens gives way after its own connect timeout, and the backup serves', async () => {
    const completion = await client.chat.completions.create({ model: 'via-no-handshake', messages });
    expect(completion.choices[0]!.message.content).toBe('Echo: hello there ☕ café');
    expect(gateway.aiRecords().at(-1)).toMatchObject({ provider: 'ai/backup', attempts: 2 });
    expect(await attempts('ai/no-handshake', 'connect_error')).toBe(1);
    expect(await attempts('ai/no-handshake', 'timeout')).toBe(0);
  });

  test('a provider that connects but never answers gives way after its own request timeout (its connect timeout no longer applies)', async () => {
    const stream = await client.chat.completions.create({ model: 'via-mute', messages, stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('Echo: hello there ☕ café');
    expect(gateway.aiRecords().at(-1)).toMatchObject({ provider: 'ai/backup', attempts: 2 });
    expect(await attempts('ai/mute', 'timeout')).toBe(1);
    expect(await attempts('ai/mute', 'connect_error')).toBe(0);
  });
});
