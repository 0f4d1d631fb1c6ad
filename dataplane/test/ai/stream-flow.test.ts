// A streamed answer larger than the sockets' buffers, to a client that reads slowly and pauses:
// the gateway's writes back up, it holds the provider's body until the client drains, and the
// client still gets every event, in order, with exact usage; pass-through and translation alike.
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { type Gateway, providerObjects, routeObject, startGateway } from './helpers.ts';

const EVENTS = 3000;
const WORD = 'x'.repeat(1000);

interface Provider {
  baseURL: string;
  close(): Promise<void>;
}

/** An OpenAI-format provider that streams EVENTS events of ~1 KB, honouring backpressure. */
async function startBigStreamProvider(): Promise<Provider> {
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      let i = 0;
      const writeSome = (): void => {
        while (i < EVENTS) {
          const chunk = {
            id: 'c',
            object: 'chat.completion.chunk',
            model: 'big',
            choices: [{ index: 0, delta: { content: WORD }, finish_reason: null }],
          };
          i++;
          if (!res.write(`data: ${JSON.stringify(chunk)}\n\n`)) {
            res.once('drain', writeSome);
            return;
          }
        }
        res.write(
          `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', model: 'big', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`,
        );
        res.write(
          `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', model: 'big', choices: [], usage: { prompt_tokens: 5, completion_tokens: EVENTS, total_tokens: EVENTS + 5 } })}\n\n`,
        );
        res.end('data: [DONE]\n\n');
      };
      writeSome();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A raw HTTP/1.1 request whose response is read in small bites, with pauses; resolves with all of it. */
function slowRead(url: string, path: string, body: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      socket.write(
        `POST ${path} HTTP/1.1\r\nhost: ${hostname}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      );
    });
    const chunks: Buffer[] = [];
    let reads = 0;
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      // Every 20th read, stop for a while: the gateway's writes to us back up meanwhile.
      if (++reads % 20 === 0) {
        socket.pause();
        setTimeout(() => socket.resume(), 20);
      }
    });
    socket.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    socket.on('error', reject);
  });
}

/** The content of a chunked SSE response: every `data:` payload, in order. */
function payloads(raw: string): string[] {
  const chunked = raw.slice(raw.indexOf('\r\n\r\n') + 4);
  let body = '';
  let at = 0;
  for (;;) {
    const eol = chunked.indexOf('\r\n', at);
    const size = Number.parseInt(chunked.slice(at, eol), 16);
    if (!size) break;
    body += chunked.slice(eol + 2, eol + 2 + size);
    at = eol + 2 + size + 2;
  }
  return body.split('\n\n').flatMap((event) => {
    const data = event.split('\n').find((line) => line.startsWith('data: '));
    return data ? [data.slice(6)] : [];
  });
}

describe('streams under backpressure', () => {
  let provider: Provider;
  let gateway: Gateway;

  beforeAll(async () => {
    provider = await startBigStreamProvider();
    gateway = await startGateway([
      ...providerObjects({
        name: 'big',
        spec: { type: 'openai-compatible', baseURL: provider.baseURL, models: [{ name: 'big' }] },
      }),
      routeObject('llm', [
        { matches: [{ path: { value: '/v1' } }], backendRefs: [{ kind: 'AIProvider', name: 'big' }] },
      ]),
    ]);
  });

  afterAll(async () => {
    await gateway?.close();
    await provider?.close();
  });

  test.each([
    ['passed through to an OpenAI client', false],
    ['with the usage the client asked for', true],
  ])(
    'a 3 MB stream %s reaches a slow reader whole, in order, metered exactly',
    async (_name, includeUsage) => {
      const body = JSON.stringify({
        model: 'big',
        stream: true,
        ...(includeUsage ? { stream_options: { include_usage: true } } : {}),
        messages: [{ role: 'user', content: 'talk' }],
      });
      const raw = await slowRead(gateway.url, '/v1/chat/completions', body);
      expect(raw.startsWith('HTTP/1.1 200')).toBe(true);
      const events = payloads(raw);
      const content = events.slice(0, EVENTS).map((e) => JSON.parse(e).choices[0].delta.content);
      expect(content).toHaveLength(EVENTS);
      expect(content.every((c) => c === WORD)).toBe(true);
      expect(JSON.parse(events[EVENTS]!).choices[0].finish_reason).toBe('stop');
      if (includeUsage) expect(JSON.parse(events[EVENTS + 1]!).usage.completion_tokens).toBe(EVENTS);
      expect(events.at(-1)).toBe('[DONE]');
      expect(events).toHaveLength(EVENTS + (includeUsage ? 3 : 2));
      expect(gateway.aiRecords().at(-1)).toMatchObject({
        inputTokens: 5,
        outputTokens: EVENTS,
        estimated: false,
      });
    },
  );

  test('a 3 MB stream translated for an Anthropic client reaches a slow reader whole, metered exactly', async () => {
    const body = JSON.stringify({
      model: 'big',
      stream: true,
      max_tokens: 10000,
      messages: [{ role: 'user', content: 'talk' }],
    });
    const raw = await slowRead(gateway.url, '/v1/messages', body);
    expect(raw.startsWith('HTTP/1.1 200')).toBe(true);
    const events = payloads(raw).map((e) => JSON.parse(e) as { type: string; delta?: { text?: string } });
    const text = events
      .filter((e) => e.type === 'content_block_delta')
      .map((e) => e.delta?.text ?? '')
      .join('');
    expect(text).toBe(WORD.repeat(EVENTS));
    expect(events.at(-1)?.type).toBe('message_stop');
    expect(gateway.aiRecords().at(-1)).toMatchObject({
      inputTokens: 5,
      outputTokens: EVENTS,
      estimated: false,
    });
  });
});
