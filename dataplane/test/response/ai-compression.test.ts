// Compression on an AI route: the OpenAI SDK (which accepts gzip and br) gets correct answers,
// streamed and not, while the bytes on the wire are compressed.
import { gunzipSync } from 'node:zlib';
import { type MockProvider, startOpenAIMock } from '@tollgate/testkit';
import OpenAI from 'openai';
import { request } from 'undici';
import { type Gateway, mockProviderObjects, routeObject, startGateway } from '../ai/helpers.ts';

let mock: MockProvider;
let gateway: Gateway;

beforeAll(async () => {
  mock = await startOpenAIMock();
  gateway = await startGateway([
    ...mockProviderObjects('cloud', 'openai', mock),
    routeObject('llm', [{ backendRefs: [{ kind: 'AIProvider', name: 'cloud' }] }]),
    {
      apiVersion: 'tollgate.dev/v1alpha1',
      kind: 'Policy',
      metadata: { name: 'compress', namespace: 'ai' },
      spec: { targetRefs: [{ kind: 'Route', name: 'llm' }], compression: { minBytes: 0 } },
    },
  ]);
});

afterAll(async () => {
  await gateway?.close();
  await mock?.close();
});

test('an AI answer is compressed on the wire when the client accepts gzip', async () => {
  const res = await request(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'accept-encoding': 'gzip' },
    body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hello' }] }),
  });
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-encoding']).toBe('gzip');
  const body = JSON.parse(gunzipSync(Buffer.from(await res.body.arrayBuffer())).toString()) as {
    choices: unknown[];
  };
  expect(body.choices).toHaveLength(1);
});

test('the OpenAI SDK gets whole answers and whole streams through compression', async () => {
  const openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'unused' });
  const reply = await openai.chat.completions.create({
    model: 'gpt-4o',
    messages: [{ role: 'user', content: 'hello' }],
  });
  expect(reply.choices[0]?.message.content).toBeTruthy();
  const stream = await openai.chat.completions.create({
    model: 'gpt-4o',
    messages: [{ role: 'user', content: 'hello' }],
    stream: true,
  });
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
  expect(text).toBe(reply.choices[0]?.message.content);
});
