// The example backend of standalone mode: a tiny HTTP service that echoes what it received
// (so you can see what the gateway forwarded) and, in `llm` mode, a mock OpenAI-compatible
// chat API that answers offline. Only node: built-ins, so it runs anywhere Node 24 does.
//   node examples/backend/server.ts --name blue --port 9081
//   node examples/backend/server.ts --name mock-llm --port 9083 --mode llm
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    name: { type: 'string', default: 'backend' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '9081' },
    mode: { type: 'string', default: 'echo' },
  },
});
const name = values.name!;

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'x-backend': name });
  res.end(payload);
}

function echo(req: IncomingMessage, res: ServerResponse, body: string): void {
  sendJson(res, 200, { backend: name, method: req.method, path: req.url, headers: req.headers, body });
}

interface ChatRequest {
  model?: unknown;
  messages?: Array<{ role?: string; content?: unknown }>;
  stream?: unknown;
  stream_options?: { include_usage?: unknown };
}

/** Answers like OpenAI's chat completions API: the reply repeats the last user message. */
function chat(res: ServerResponse, body: string): void {
  let request: ChatRequest;
  try {
    request = JSON.parse(body) as ChatRequest;
  } catch {
    sendJson(res, 400, {
      error: { message: 'body is not JSON', type: 'invalid_request_error', param: null, code: null },
    });
    return;
  }
  const model = typeof request.model === 'string' ? request.model : 'mock-model';
  const last = request.messages?.at(-1)?.content;
  const text = `Hello from ${name}! You said: ${typeof last === 'string' ? last : JSON.stringify(last ?? '')}`;
  const words = text.split(' ');
  const usage = {
    prompt_tokens: JSON.stringify(request.messages ?? []).length >> 2,
    completion_tokens: words.length,
  };
  const id = `chatcmpl-${Date.now().toString(36)}`;
  const created = Math.floor(Date.now() / 1000);
  if (request.stream === true) {
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      'x-backend': name,
    });
    const chunk = (delta: object, finish: string | null) =>
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    res.write(chunk({ role: 'assistant', content: '' }, null));
    for (const [i, word] of words.entries()) res.write(chunk({ content: i === 0 ? word : ` ${word}` }, null));
    res.write(chunk({}, 'stop'));
    // Like OpenAI: usage only when asked, as a last chunk without choices.
    if (request.stream_options?.include_usage === true) {
      const total = usage.prompt_tokens + usage.completion_tokens;
      res.write(
        `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [], usage: { ...usage, total_tokens: total } })}\n\n`,
      );
    }
    res.end('data: [DONE]\n\n');
    return;
  }
  sendJson(res, 200, {
    id,
    object: 'chat.completion',
    created,
    model,
    choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
    usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
  });
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    if (values.mode === 'llm' && req.method === 'POST' && req.url?.endsWith('/chat/completions'))
      return chat(res, body);
    if (values.mode === 'llm' && req.method === 'GET' && req.url?.endsWith('/models')) {
      return sendJson(res, 200, {
        object: 'list',
        data: [{ id: 'mock-model', object: 'model', created: 0, owned_by: name }],
      });
    }
    echo(req, res, body);
  });
});
server.listen(Number(values.port), values.host, () => {
  process.stdout.write(
    `${JSON.stringify({ msg: 'example backend listening', name, port: Number(values.port) })}\n`,
  );
});
for (const signal of ['SIGTERM', 'SIGINT'] as const)
  process.on(signal, () => server.close(() => process.exit(0)));
