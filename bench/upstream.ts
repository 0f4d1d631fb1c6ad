// The benchmark upstream: one small, fast node:http server for all three workloads, so every
// proxy is measured against the same limit.
//   GET  <any path>               → a 46-byte JSON body
//   POST .../chat/completions     → an OpenAI-style chat completion, or with "stream": true an
//                                   SSE stream of 50 content chunks + finish + usage + [DONE]
// Responses are prebuilt: the upstream should cost as little CPU as possible.
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { port: { type: 'string', default: '0' } } });

const SMALL = Buffer.from(JSON.stringify({ ok: true, service: 'bench1', items: [1, 2, 3] }));
if (SMALL.length !== 46) throw new Error(`small body is ${SMALL.length} bytes, want 46`);

const created = 1_764_000_000;
const usage = { prompt_tokens: 24, completion_tokens: 50, total_tokens: 74 };
const COMPLETION = Buffer.from(
  JSON.stringify({
    id: 'chatcmpl-bench',
    object: 'chat.completion',
    created,
    model: 'bench-model',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: 'word '.repeat(50).trim() },
        finish_reason: 'stop',
      },
    ],
    usage,
  }),
);
const event = (payload: object): string => `data: ${JSON.stringify(payload)}\n\n`;
const chunk = (delta: object, finish: string | null): string =>
  event({
    id: 'chatcmpl-bench',
    object: 'chat.completion.chunk',
    created,
    model: 'bench-model',
    choices: [{ index: 0, delta, finish_reason: finish }],
  });
const STREAM: Buffer[] = [];
for (let i = 0; i < 50; i++) STREAM.push(Buffer.from(chunk({ content: i === 0 ? 'word' : ' word' }, null)));
STREAM.push(Buffer.from(chunk({}, 'stop')));
STREAM.push(
  Buffer.from(
    `${event({ id: 'chatcmpl-bench', object: 'chat.completion.chunk', created, model: 'bench-model', choices: [], usage })}data: [DONE]\n\n`,
  ),
);

const server = createServer((req, res) => {
  if (req.method !== 'POST') {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': SMALL.length });
    res.end(SMALL);
    return;
  }
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (part: string) => {
    body += part;
  });
  req.on('end', () => {
    // A real provider parses the body; a string test is enough to choose the reply here.
    if (/"stream"\s*:\s*true/.test(body)) {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      // Each event is its own write, as a provider emits tokens one by one.
      for (const part of STREAM) res.write(part);
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': COMPLETION.length });
    res.end(COMPLETION);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(values.port), '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`${JSON.stringify({ listening: typeof address === 'object' ? address?.port : 0 })}\n`);
});
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => process.exit(0));
