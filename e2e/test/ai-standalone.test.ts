// The standalone demo's AI route end to end: examples/standalone/llm.yaml (an AIProvider at the
// example mock LLM, with prices, and a Route matching the model) served by the real controller and
// data-plane processes, called with the official OpenAI SDK and the demo's curl request.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { freePort, type StartedProcess, startProcess } from '@tollgate/testkit';
import OpenAI from 'openai';
import { request } from 'undici';
import { type StandaloneStack, startStandaloneStack } from '../src/index.ts';

const root = path.resolve(import.meta.dirname, '../..');
const SLOW = 60_000;

let backend: StartedProcess;
let stack: StandaloneStack;

beforeAll(async () => {
  const port = await freePort();
  backend = startProcess(
    process.execPath,
    [
      path.join(root, 'examples/backend/server.ts'),
      '--name',
      'mock-llm',
      '--port',
      String(port),
      '--mode',
      'llm',
    ],
    { name: 'mock-llm', cwd: root },
  );
  await backend.waitForOutput(/example backend listening/);
  // The example as shipped, only pointed at this test's port.
  const manifest = (await readFile(path.join(root, 'examples/standalone/llm.yaml'), 'utf8')).replace(
    'http://127.0.0.1:9083/v1',
    `http://127.0.0.1:${port}/v1`,
  );
  stack = await startStandaloneStack({ 'llm.yaml': manifest });
}, SLOW);

afterAll(async () => {
  await stack?.stop();
  await backend?.stop();
}, SLOW);

test(
  "the demo's curl request is answered by the mock LLM and metered with the example's prices",
  async () => {
    const response = await request(`${stack.gatewayUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"model":"mock-model","messages":[{"role":"user","content":"Hello"}]}',
    });
    expect(response.statusCode).toBe(200);
    const body = (await response.body.json()) as {
      choices: Array<{ message: { content: string } }>;
      usage: { prompt_tokens: number; completion_tokens: number };
    };
    expect(body.choices[0]!.message.content).toContain('You said: Hello');
    const usage = String(response.headers['x-tollgate-usage']);
    const { prompt_tokens: input, completion_tokens: output } = body.usage;
    // 0.50 and 1.50 USD per million tokens: micro-dollars are tokens × price.
    const cost = Math.floor((input * 50 + output * 150 + 50) / 100);
    expect(usage).toBe(
      `input=${input}; output=${output}; cached_input=0; cache_write=0; reasoning=0; cost_micros=${cost}; currency=USD; estimated=false`,
    );
  },
  SLOW,
);

test(
  'the OpenAI SDK streams through the gateway, and the metrics name the provider and model',
  async () => {
    const client = new OpenAI({ baseURL: `${stack.gatewayUrl}/v1`, apiKey: 'demo', maxRetries: 0 });
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of await client.chat.completions.create({
      model: 'mock-model',
      messages: [{ role: 'user', content: 'stream please' }],
      stream: true,
      stream_options: { include_usage: true },
    })) {
      text += chunk.choices[0]?.delta.content ?? '';
      usage = chunk.usage ?? usage;
    }
    expect(text).toContain('You said: stream please');
    expect(usage?.completion_tokens).toBeGreaterThan(0);
    const metrics = await (await request(`${stack.dataplaneAdminUrl}/metrics`)).body.text();
    expect(metrics).toMatch(
      /gen_ai_client_token_usage_count\{[^}]*gen_ai_provider_name="openai-compatible"[^}]*gen_ai_request_model="mock-model"[^}]*tollgate_provider="demo\/mock-llm"[^}]*gen_ai_token_type="output"\} [1-9]/,
    );
    expect(metrics).toMatch(
      /tollgate_ai_cost_micros_total\{[^}]*tollgate_provider="demo\/mock-llm"[^}]*currency="USD"\} [1-9]/,
    );
  },
  SLOW,
);

test(
  "a model the route does not serve is a 404 in OpenAI's format, and GET /v1/models lists the served ones",
  async () => {
    const client = new OpenAI({ baseURL: `${stack.gatewayUrl}/v1`, apiKey: 'demo', maxRetries: 0 });
    const error = await client.chat.completions
      .create({ model: 'gpt-5', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    const ids: string[] = [];
    for await (const model of client.models.list()) ids.push(model.id);
    expect(ids).toEqual(['default', 'mock-model']);
  },
  SLOW,
);
