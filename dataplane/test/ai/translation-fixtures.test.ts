// The translation conformance suite from recorded fixtures: for every (client API × provider type ×
// stream or not × plain text or tool call) one directory under fixtures/ holds the client request,
// the exact upstream request the gateway must send, the provider's recorded answer in its wire
// format, and the exact client response and metered usage. The real Dataplane runs against a replay
// server that serves the recorded answer and captures what the gateway sent.
//
// UPDATE_FIXTURES=1 re-records: the replay server forwards to the mock provider of @tollgate/testkit,
// stores its answer, and every expected file is rewritten from today's behaviour, for review in the
// diff. Without it a missing fixture fails.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EventStreamCodec } from '@smithy/eventstream-codec';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
import type { MockProvider } from '@tollgate/testkit';
import { ADAPTER_CASES, type AdapterCase } from './conformance/adapter-cases.ts';
import { accessLines, type Gateway, providerObjects, routeObject, startGateway } from './helpers.ts';

const UPDATE = process.env.UPDATE_FIXTURES === '1';
const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

const CLIENTS = ['openai-chat', 'anthropic-messages'] as const;
type ClientName = (typeof CLIENTS)[number];
const MODES = ['non-stream', 'stream'] as const;
const KINDS = ['text', 'tool'] as const;

/**
 * Cases that show a translation bug: run as test.failing so the suite stays green and the bug stays
 * visible; once fixed the case passes, test.failing reports it, and its entry goes. Key:
 * "<client>/<provider>/<case directory>". Their expected files hold the correct translation.
 */
// None known today; add an entry (key → what is wrong and where) when a fixture exposes one.
const KNOWN_BUGS: Record<string, string> = {};

const PRICING = {
  currency: 'USD',
  inputPerMillion: '2.50',
  outputPerMillion: '10',
  cachedInputPerMillion: '1.25',
  cacheWritePerMillion: '3.75',
};

/** Headers whose values are credentials or per-request (time, signature): kept as a placeholder. */
const REDACTED = new Set(['authorization', 'x-api-key', 'api-key', 'x-goog-api-key', 'x-amz-security-token']);
const VOLATILE = new Set(['x-amz-date', 'x-request-id', 'traceparent']);
/** Transport headers, not part of the translation. */
const DROPPED = new Set(['host', 'content-length', 'connection', 'transfer-encoding', 'accept-encoding']);

interface HttpMessage {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: unknown;
}

interface Captured {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

// ---------------------------------------------------------------------------------------------
// Client requests (written once, then owned by the fixture)

const TOOL_SCHEMA = { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] };

function clientRequestTemplate(
  client: ClientName,
  model: string,
  stream: boolean,
  kind: string,
): HttpMessage {
  if (client === 'openai-chat') {
    const body: Record<string, unknown> = {
      model,
      messages:
        kind === 'tool'
          ? [{ role: 'user', content: 'weather in Paris' }]
          : [
              { role: 'system', content: 'Be brief.' },
              { role: 'user', content: 'hello there' },
            ],
      max_tokens: 256,
    };
    if (kind === 'tool')
      body.tools = [
        {
          type: 'function',
          function: { name: 'lookup', description: 'Looks something up', parameters: TOOL_SCHEMA },
        },
      ];
    if (stream) Object.assign(body, { stream: true, stream_options: { include_usage: true } });
    return {
      method: 'POST',
      path: '/v1/chat/completions',
      headers: { 'content-type': 'application/json', authorization: 'Bearer client-key' },
      body,
    };
  }
  const body: Record<string, unknown> = {
    model,
    max_tokens: 256,
    ...(kind === 'tool' ? {} : { system: 'Be brief.' }),
    messages: [{ role: 'user', content: kind === 'tool' ? 'weather in Paris' : 'hello there' }],
  };
  if (kind === 'tool')
    body.tools = [{ name: 'lookup', description: 'Looks something up', input_schema: TOOL_SCHEMA }];
  if (stream) body.stream = true;
  return {
    method: 'POST',
    path: '/v1/messages',
    headers: {
      'content-type': 'application/json',
      'x-api-key': 'client-key',
      'anthropic-version': '2023-06-01',
    },
    body,
  };
}

// ---------------------------------------------------------------------------------------------
// Normalisation: what the comparison ignores (generated ids and timestamps, credentials)

function normaliseHeaders(headers: IncomingMessage['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of Object.keys(headers).sort()) {
    if (DROPPED.has(name)) continue;
    const value = headers[name];
    const text = Array.isArray(value) ? value.join(', ') : String(value ?? '');
    out[name] = REDACTED.has(name) ? redact(text) : VOLATILE.has(name) ? '<volatile>' : text;
  }
  return out;
}

/**
 * A credential → a placeholder. A SigV4 authorization keeps its region, service and signed headers
 * (what the translation decides); the key id, date and signature go.
 */
function redact(value: string): string {
  const sigv4 =
    /^AWS4-HMAC-SHA256 Credential=[^/]+\/\d{8}\/([^,]+), SignedHeaders=([^,]+), Signature=[0-9a-f]+$/.exec(
      value,
    );
  return sigv4
    ? `AWS4-HMAC-SHA256 Credential=<redacted>/<date>/${sigv4[1]}, SignedHeaders=${sigv4[2]}, Signature=<redacted>`
    : '<redacted>';
}

function parseBody(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** Ids and timestamps the gateway generates per response (tool-call ids are translated, so kept). */
function normaliseClientJson(value: unknown): unknown {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return value;
  const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  if (typeof out.id === 'string' && ('object' in out || out.type === 'message')) out.id = '<id>';
  if (typeof out.created === 'number') out.created = 0;
  if (out.message && typeof out.message === 'object') out.message = normaliseClientJson(out.message);
  return out;
}

/** The id every chunk of one stream must share (OpenAI chunks' id, Anthropic's message id once). */
function streamIds(text: string): Set<string> {
  const ids = new Set<string>();
  for (const match of text.matchAll(/^data: ?(\{.*\})\r?$/gm)) {
    const data = JSON.parse(match[1]!) as { object?: string; id?: string };
    if (data.object === 'chat.completion.chunk' && data.id !== undefined) ids.add(data.id);
  }
  return ids;
}

/** SSE text → events with their data parsed (JSON, or the raw text such as "[DONE]"). */
function parseSSE(text: string): Array<{ event?: string; data: unknown }> {
  const events: Array<{ event?: string; data: unknown }> = [];
  for (const block of text.split(/\r?\n\r?\n/)) {
    let event: string | undefined;
    const data: string[] = [];
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
    if (data.length === 0) continue;
    const joined = data.join('\n');
    events.push({ ...(event ? { event } : {}), data: normaliseClientJson(parseBody(joined)) });
  }
  return events;
}

// ---------------------------------------------------------------------------------------------
// Fixture files

function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8')) as unknown;
}

function writeJson(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
}

interface RecordedResponse {
  status: number;
  headers: Record<string, string>;
  /** Non-streaming: the JSON body. Streams keep their bytes in a sibling file. */
  body?: unknown;
  /** Streams: the file holding the bytes ("provider-response.sse" or "….eventstream.b64"). */
  bodyFile?: string;
}

function loadProviderResponse(dir: string): { meta: RecordedResponse; bytes: Buffer } {
  const meta = readJson(join(dir, 'provider-response.json')) as RecordedResponse;
  if (meta.bodyFile === undefined) return { meta, bytes: Buffer.from(JSON.stringify(meta.body)) };
  const raw = readFileSync(join(dir, meta.bodyFile), 'utf8');
  if (meta.bodyFile.endsWith('.eventstream.json')) return { meta, bytes: encodeEventStream(raw) };
  return { meta, bytes: meta.bodyFile.endsWith('.b64') ? Buffer.from(raw, 'base64') : Buffer.from(raw) };
}

/**
 * Hand-written AWS event streams are kept readable: a JSON list of `{ messageType?, eventType,
 * payload }`, framed here (prelude, headers, CRCs) as the provider would.
 */
function encodeEventStream(text: string): Buffer {
  const codec = new EventStreamCodec(toUtf8, fromUtf8);
  const frames = JSON.parse(text) as Array<{ messageType?: string; eventType: string; payload: unknown }>;
  return Buffer.concat(
    frames.map((frame) => {
      const kind = frame.messageType ?? 'event';
      return Buffer.from(
        codec.encode({
          headers: {
            ':message-type': { type: 'string', value: kind },
            [kind === 'exception' ? ':exception-type' : ':event-type']: {
              type: 'string',
              value: frame.eventType,
            },
            ':content-type': { type: 'string', value: 'application/json' },
          },
          body: fromUtf8(JSON.stringify(frame.payload)),
        }),
      );
    }),
  );
}

function saveProviderResponse(dir: string, status: number, contentType: string, bytes: Buffer): void {
  const headers = { 'content-type': contentType };
  if (contentType.includes('event-stream') && !contentType.includes('amazon')) {
    writeFileSync(join(dir, 'provider-response.sse'), bytes);
    writeJson(join(dir, 'provider-response.json'), { status, headers, bodyFile: 'provider-response.sse' });
  } else if (contentType.includes('amazon')) {
    writeFileSync(join(dir, 'provider-response.eventstream.b64'), `${bytes.toString('base64')}\n`);
    writeJson(join(dir, 'provider-response.json'), {
      status,
      headers,
      bodyFile: 'provider-response.eventstream.b64',
    });
  } else {
    writeJson(join(dir, 'provider-response.json'), { status, headers, body: JSON.parse(bytes.toString()) });
  }
}

// ---------------------------------------------------------------------------------------------
// The replay server: serves the current fixture's recorded answer (or, re-recording, forwards to
// the mock provider and stores its answer), and captures the request the gateway sent.

interface Replay {
  origin: string;
  /** The fixture directory the next request belongs to; `replayOnly` when its answer is hand-written. */
  use(dir: string, replayOnly: boolean): void;
  captured: Captured[];
  close(): Promise<void>;
}

async function startReplay(mock: MockProvider): Promise<Replay> {
  const mockOrigin = new URL(mock.baseURL).origin;
  let current = '';
  let replayOnly = false;
  const captured: Captured[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      captured.push({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body });
      if (!UPDATE || replayOnly) {
        try {
          const { meta, bytes } = loadProviderResponse(current);
          res.writeHead(meta.status, { ...meta.headers, 'content-length': bytes.length });
          res.end(bytes);
        } catch (error) {
          res.writeHead(599, { 'content-type': 'text/plain' });
          res.end(`no recorded provider response: ${(error as Error).message}`);
        }
        return;
      }
      // Re-recording: forward unchanged (Host included, so a SigV4 signature still verifies).
      const upstream = httpRequest(
        `${mockOrigin}${req.url}`,
        { method: req.method, headers: req.headers },
        (answer) => {
          const parts: Buffer[] = [];
          answer.on('data', (c: Buffer) => parts.push(c));
          answer.on('end', () => {
            const bytes = Buffer.concat(parts);
            const contentType = String(answer.headers['content-type'] ?? 'application/json');
            saveProviderResponse(current, answer.statusCode ?? 200, contentType, bytes);
            res.writeHead(answer.statusCode ?? 200, { 'content-type': contentType });
            res.end(bytes);
          });
        },
      );
      upstream.on('error', (error) => {
        res.writeHead(599);
        res.end(error.message);
      });
      upstream.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    use: (dir, only) => {
      current = dir;
      replayOnly = only;
      captured.length = 0;
    },
    captured,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// ---------------------------------------------------------------------------------------------

/** Re-recording rewrites the expectation, except for a known bug's (it holds the correct answer). */
function compareOrWrite(path: string, actual: unknown, knownBug: boolean): void {
  if (UPDATE && !knownBug) {
    writeJson(path, actual);
    return;
  }
  if (!existsSync(path)) throw new Error(`missing fixture ${path} (run with UPDATE_FIXTURES=1)`);
  expect(actual).toEqual(readJson(path));
}

describe.each(ADAPTER_CASES)('provider $type', (row: AdapterCase) => {
  let mock: MockProvider;
  let replay: Replay;
  let gateway: Gateway;
  let served = 0;

  beforeAll(async () => {
    // Fixed keys, so nothing recorded depends on a run (they are redacted anyway).
    mock = await row.startMock(
      row.type === 'vertex-ai'
        ? {}
        : { apiKey: row.type === 'bedrock' ? 'AKIAFIXTURE0123456789' : 'fixture-key-0123456789' },
    );
    replay = await startReplay(mock);
    const basePath = new URL(mock.baseURL).pathname.replace(/\/$/, '');
    const spec = row.spec({ ...mock, baseURL: `${replay.origin}${basePath}` } as MockProvider, 'p');
    gateway = await startGateway([
      ...providerObjects({
        name: 'p',
        spec: {
          ...spec,
          models: [row.chatModel, ...(row.embeddingsModel ? [row.embeddingsModel] : [])].map((name) => ({
            name,
            pricing: PRICING,
          })),
        },
        apiKey: mock.apiKey,
      }),
      routeObject('llm', [
        { matches: [{ path: { value: '/v1' } }], backendRefs: [{ kind: 'AIProvider', name: 'p' }] },
      ]),
    ]);
  });

  afterAll(async () => {
    await gateway?.close();
    await replay?.close();
    await mock?.close();
  });

  const matrix = CLIENTS.flatMap((client) =>
    MODES.flatMap((mode) => KINDS.map((kind) => ({ client, mode, kind, name: `${mode}-${kind}` }))),
  );
  // Hand-written cases beside the matrix (named "<mode>-<anything>"): their provider response is
  // written by hand from the provider's documented format and never re-recorded.
  const extra = CLIENTS.flatMap((client) => {
    const root = join(FIXTURES, client, row.type);
    if (!existsSync(root)) return [];
    return readdirSync(root)
      .filter((name) => !matrix.some((m) => m.client === client && m.name === name))
      .map((name) => ({
        client,
        mode: name.startsWith('stream-') ? ('stream' as const) : ('non-stream' as const),
        kind: name.includes('tool') ? 'tool' : 'text',
        name,
      }));
  });
  const handWritten = new Set(extra.map((c) => join(FIXTURES, c.client, row.type, c.name)));

  describe.each([...matrix, ...extra])('$client $name', ({ client, mode, kind, name }) => {
    const key = `${client}/${row.type}/${name}`;
    const dir = join(FIXTURES, client, row.type, name);
    const bug = KNOWN_BUGS[key];
    const run = bug ? test.failing : test;

    const title = `translates the request, the ${mode} answer and the usage exactly as recorded`;
    run(bug ? `${title} (known bug)` : title, async () => {
      const requestPath = join(dir, 'client-request.json');
      if (UPDATE && !existsSync(requestPath)) {
        mkdirSync(dir, { recursive: true });
        writeJson(requestPath, clientRequestTemplate(client, row.chatModel, mode === 'stream', kind));
      }
      const clientRequest = readJson(requestPath) as HttpMessage;
      replay.use(dir, handWritten.has(dir));

      const response = await fetch(`${gateway.url}${clientRequest.path}`, {
        method: clientRequest.method,
        headers: clientRequest.headers,
        body: JSON.stringify(clientRequest.body),
      });
      const text = await response.text();
      served++;
      const record = (await accessLines(gateway, served))[served - 1]!.ai as Record<string, unknown>;

      const sent = replay.captured.filter((c) => c.url !== '/token');
      expect(sent).toHaveLength(1);
      const upstream: HttpMessage = {
        method: sent[0]!.method,
        path: sent[0]!.url,
        headers: normaliseHeaders(sent[0]!.headers),
        body: parseBody(sent[0]!.body.toString('utf8')),
      };
      compareOrWrite(join(dir, 'upstream-request.json'), upstream, bug !== undefined);

      const contentType = response.headers.get('content-type') ?? '';
      // Ids are generated, so the fixture hides them; but all chunks of a stream carry the same one.
      if (contentType.includes('event-stream') && client === 'openai-chat')
        expect(streamIds(text).size).toBe(1);
      compareOrWrite(
        join(dir, 'client-response.json'),
        {
          status: response.status,
          contentType: contentType.split(';')[0],
          ...(response.headers.has('x-tollgate-error-code')
            ? { errorCode: response.headers.get('x-tollgate-error-code') }
            : {}),
          ...(contentType.includes('event-stream')
            ? { events: parseSSE(text) }
            : { body: normaliseClientJson(parseBody(text)) }),
        },
        bug !== undefined,
      );

      compareOrWrite(
        join(dir, 'usage.json'),
        {
          inputTokens: record.inputTokens,
          outputTokens: record.outputTokens,
          cachedInputTokens: record.cachedInputTokens,
          cacheWriteTokens: record.cacheWriteTokens,
          reasoningTokens: record.reasoningTokens,
          estimated: record.estimated,
          costMicros: record.costMicros,
          currency: record.currency,
        },
        bug !== undefined,
      );
    });
  });
});
