// A mock of AWS Bedrock's Converse API: `POST /model/{modelId}/converse` answered as JSON and
// `/converse-stream` as the binary `application/vnd.amazon.eventstream` (messageStart,
// contentBlockStart/Delta/Stop, messageStop, metadata; exceptions as `:message-type: exception`
// frames), and InvokeModel (`POST /model/{modelId}/invoke`) for the embeddings models: Amazon Titan
// Text Embeddings (one inputText, inputTextTokenCount in the body) and Cohere Embed (a batch of
// texts), both with the x-amzn-bedrock-input-token-count header. Every request's SigV4 signature is recomputed with the same signing library and
// compared; a wrong key or signature gets AWS's 403. Shapes follow the official SDK's types.
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { Sha256 } from '@aws-crypto/sha256-js';
import type {
  ContentBlockDeltaEvent,
  ContentBlockStartEvent,
  ContentBlockStopEvent,
  ConverseResponse,
  ConverseStreamMetadataEvent,
  MessageStartEvent,
  MessageStopEvent,
  TokenUsage,
} from '@aws-sdk/client-bedrock-runtime';
import { EventStreamCodec, type MessageHeaders } from '@smithy/eventstream-codec';
import { SignatureV4 } from '@smithy/signature-v4';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
import { type Conversation, type Counts, countTokens, pieces, type Reply, replyTo, words } from './script.ts';
import { type MockExchange, sendJson, startMockServer } from './server.ts';
import type { MockProvider, MockProviderOptions, MockUsage } from './types.ts';

export interface BedrockMockOptions extends MockProviderOptions {
  /** The secret access key paired with `apiKey` (the access key id); defaults to `apiKey`. */
  secretAccessKey?: string;
  /** The region requests must be signed for (default us-east-1). */
  region?: string;
}

function exceptionOf(status: number): string {
  if (status === 400) return 'ValidationException';
  if (status === 403) return 'AccessDeniedException';
  if (status === 404) return 'ResourceNotFoundException';
  if (status === 429) return 'ThrottlingException';
  if (status === 503) return 'ServiceUnavailableException';
  return 'InternalServerException';
}

function errorBody(status: number, message: string): string {
  // restJson1 names the exception in x-amzn-errortype; `__type` carries it too for bodies
  // written without that header.
  return JSON.stringify({ __type: exceptionOf(status), message });
}

function sendError(exchange: MockExchange, status: number, type: string, message: string): void {
  const text = JSON.stringify({ message });
  exchange.res.writeHead(status, {
    'content-type': 'application/json',
    'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/`,
    'content-length': Buffer.byteLength(text),
  });
  exchange.res.end(text);
}

type Block = Record<string, unknown>;

function blockText(block: Block): string {
  if (typeof block.text === 'string') return block.text;
  const result = block.toolResult as { content?: Block[] } | undefined;
  if (result) return (result.content ?? []).map(blockText).join(' ');
  return '';
}

function conversationOf(body: Record<string, unknown>): Conversation {
  const messages = Array.isArray(body.messages)
    ? (body.messages as Array<{ role?: string; content?: Block[] }>)
    : [];
  const last = messages.at(-1);
  const lastBlocks = last?.content ?? [];
  const toolResult = lastBlocks.find((b) => b.toolResult !== undefined);
  const system = Array.isArray(body.system) ? (body.system as Block[]).map(blockText).join(' ') : '';
  const toolConfig = body.toolConfig as { tools?: Array<{ toolSpec?: { name?: string } }> } | undefined;
  return {
    promptTexts: [system, ...messages.flatMap((m) => (m.content ?? []).map(blockText))],
    lastRole: last?.role === 'assistant' ? 'assistant' : toolResult ? 'tool' : 'user',
    lastText: toolResult ? blockText(toolResult) : lastBlocks.map(blockText).join(' '),
    toolNames: (toolConfig?.tools ?? []).map((t) => t.toolSpec?.name ?? '').filter(Boolean),
    toolsRefused: false,
  };
}

/** Bedrock counts cache reads and writes apart from inputTokens. */
function usageOf(counts: Counts): TokenUsage {
  const inputTokens = counts.input - counts.cached - counts.cacheWrite;
  return {
    inputTokens,
    outputTokens: counts.output,
    totalTokens: counts.input + counts.output,
    cacheReadInputTokens: counts.cached,
    cacheWriteInputTokens: counts.cacheWrite,
  };
}

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/;

type SignatureCheck = { ok: true } | { ok: false; type: string; message: string };

/** Recomputes the request's signature from what arrived; any difference is a 403. */
async function checkSignature(
  req: IncomingMessage,
  rawBody: string,
  accessKeyId: string,
  secretAccessKey: string,
  region: string,
): Promise<SignatureCheck> {
  const match = AUTHORIZATION.exec(String(req.headers.authorization ?? ''));
  if (!match)
    return {
      ok: false,
      type: 'MissingAuthenticationTokenException',
      message: 'Missing Authentication Token',
    };
  const [, keyId, , scopeRegion, service, signedHeaders, signature] = match;
  if (keyId !== accessKeyId)
    return {
      ok: false,
      type: 'UnrecognizedClientException',
      message: 'The security token included in the request is invalid.',
    };
  const amzDate = String(req.headers['x-amz-date'] ?? '');
  const dateMatch = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!dateMatch || scopeRegion !== region || service !== 'bedrock')
    return {
      ok: false,
      type: 'InvalidSignatureException',
      message: 'Credential should be scoped to a valid region and service.',
    };
  // The signer trusts x-amz-content-sha256 when present, so the body is checked against it here.
  const bodyHash = createHash('sha256').update(rawBody).digest('hex');
  if (String(req.headers['x-amz-content-sha256'] ?? bodyHash) !== bodyHash)
    return {
      ok: false,
      type: 'InvalidSignatureException',
      message: 'The provided x-amz-content-sha256 does not match the body.',
    };
  const [, y, mo, d, h, mi, s] = dateMatch;
  const headers: Record<string, string> = {};
  for (const name of signedHeaders!.split(';')) headers[name] = String(req.headers[name] ?? '');
  const url = new URL(req.url ?? '/', 'http://mock');
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = v;
  const sessionToken = headers['x-amz-security-token'];
  const signer = new SignatureV4({
    service: 'bedrock',
    region,
    credentials: { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) },
    sha256: Sha256,
  });
  const signed = await signer.sign(
    {
      method: req.method ?? 'POST',
      protocol: 'http:',
      hostname: url.hostname,
      path: url.pathname,
      query,
      headers,
      body: rawBody,
    },
    { signingDate: new Date(Date.UTC(+y!, +mo! - 1, +d!, +h!, +mi!, +s!)) },
  );
  const expected = /Signature=([0-9a-f]{64})/.exec(String(signed.headers.authorization))?.[1];
  return expected === signature
    ? { ok: true }
    : {
        ok: false,
        type: 'InvalidSignatureException',
        message: 'The request signature we calculated does not match the signature you provided.',
      };
}

export async function startBedrockMock(options: BedrockMockOptions = {}): Promise<MockProvider> {
  const apiKey = options.apiKey ?? 'AKIAMOCK0123456789';
  const secretAccessKey = options.secretAccessKey ?? apiKey;
  const region = options.region ?? 'us-east-1';
  const reportsUsage = options.usage !== false;
  const reported: MockUsage[] = [];
  const codec = new EventStreamCodec(toUtf8, fromUtf8);

  const server = await startMockServer(options.port ?? 0, {
    errorBody,
    async handle(exchange) {
      const { req, url, body } = exchange;
      const route = /^\/model\/([^/]+)\/(converse|converse-stream|invoke)$/.exec(url.pathname);
      if (!route || req.method !== 'POST')
        return sendError(exchange, 404, 'UnknownOperationException', 'Unknown operation');
      const check = await checkSignature(req, exchange.text, apiKey, secretAccessKey, region);
      if (!check.ok) return sendError(exchange, 403, check.type, check.message);
      if (route[2] === 'invoke') return invoke(exchange, decodeURIComponent(route[1]!));
      if (!body || !Array.isArray(body.messages))
        return sendError(exchange, 400, 'ValidationException', 'messages is required');
      const conversation = conversationOf(body);
      const reply = replyTo(conversation);
      const counts = countTokens(conversation, reply, { cacheWrite: true, reasoning: false });
      if (route[2] === 'converse-stream') return stream(exchange, reply, counts);
      const response: ConverseResponse = {
        output: {
          message: {
            role: 'assistant',
            content: [
              reply.kind === 'text'
                ? { text: reply.text }
                : {
                    toolUse: {
                      toolUseId: 'tooluse_mock_1',
                      name: reply.name,
                      input: JSON.parse(reply.arguments) as Record<string, string>,
                    },
                  },
            ],
          },
        },
        stopReason: reply.kind === 'text' ? 'end_turn' : 'tool_use',
        usage: reportsUsage ? usageOf(counts) : undefined,
        metrics: { latencyMs: 12 },
      };
      if (reportsUsage) reported.push(mockUsage(counts));
      sendJson(exchange.res, 200, response);
    },
  });

  /** InvokeModel on an embeddings model: a vector per text, a token count per text (words + 1). */
  function invoke(exchange: MockExchange, model: string): void {
    const body = exchange.body ?? {};
    let texts: string[];
    if (model.includes('amazon.titan-embed')) {
      if (typeof body.inputText !== 'string') {
        sendError(exchange, 400, 'ValidationException', 'inputText is required');
        return;
      }
      texts = [body.inputText];
    } else if (model.includes('cohere.embed')) {
      if (!Array.isArray(body.texts) || !body.texts.every((t) => typeof t === 'string')) {
        sendError(exchange, 400, 'ValidationException', 'texts is required');
        return;
      }
      if (typeof body.input_type !== 'string') {
        sendError(exchange, 400, 'ValidationException', 'input_type is required');
        return;
      }
      texts = body.texts as string[];
    } else {
      sendError(exchange, 400, 'ValidationException', `${model} does not support InvokeModel here`);
      return;
    }
    const dimensions = typeof body.dimensions === 'number' ? body.dimensions : 8;
    const vectors = texts.map((_, index) =>
      Array.from({ length: dimensions }, (_, d) => (index + 1) / (d + 2)),
    );
    const tokens = texts.reduce((n, text) => n + words(text) + 1, 0);
    reported.push({
      inputTokens: tokens,
      outputTokens: 0,
      cachedInputTokens: 0,
      cacheWriteTokens: 0,
      reasoningTokens: 0,
    });
    const payload = model.includes('amazon.titan-embed')
      ? { embedding: vectors[0], inputTextTokenCount: tokens }
      : { id: 'emb-mock-1', embeddings: vectors, texts, response_type: 'embeddings_floats' };
    const text = JSON.stringify(payload);
    exchange.res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      ...(reportsUsage
        ? { 'x-amzn-bedrock-input-token-count': String(tokens), 'x-amzn-bedrock-output-token-count': '0' }
        : {}),
    });
    exchange.res.end(text);
  }

  function mockUsage(counts: Counts): MockUsage {
    return {
      inputTokens: counts.input,
      outputTokens: counts.output,
      cachedInputTokens: counts.cached,
      cacheWriteTokens: counts.cacheWrite,
      reasoningTokens: 0,
    };
  }

  async function stream(exchange: MockExchange, reply: Reply, counts: Counts): Promise<void> {
    const { res } = exchange;
    res.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream' });
    res.socket?.setNoDelay(true);
    let sent = 0;
    const write = async (headers: MessageHeaders, payload: unknown): Promise<boolean> => {
      // The client (the gateway) left: stop rather than write into a closed socket.
      if (res.destroyed) return false;
      const frame = Buffer.from(codec.encode({ headers, body: fromUtf8(JSON.stringify(payload)) }));
      if (options.framing?.splitWrites) {
        // Odd-sized pieces split the prelude, the headers and the payload alike.
        for (let at = 0; at < frame.length; at += 7) {
          if (res.destroyed) return false;
          res.write(frame.subarray(at, at + 7));
          await sleep(1);
        }
      } else {
        res.write(frame);
      }
      if (exchange.cutAfter !== undefined && ++sent >= exchange.cutAfter) {
        await sleep(20);
        res.destroy();
        return false;
      }
      return true;
    };
    const event = (type: string, payload: unknown) =>
      write(
        {
          ':message-type': { type: 'string', value: 'event' },
          ':event-type': { type: 'string', value: type },
          ':content-type': { type: 'string', value: 'application/json' },
        },
        payload,
      );
    if (exchange.streamError) {
      await write(
        {
          ':message-type': { type: 'string', value: 'exception' },
          ':exception-type': { type: 'string', value: 'serviceUnavailableException' },
          ':content-type': { type: 'string', value: 'application/json' },
        },
        { message: exchange.streamError },
      );
      res.end();
      return;
    }
    const steps: Array<[string, unknown]> = [
      ['messageStart', { role: 'assistant' } satisfies MessageStartEvent],
    ];
    if (reply.kind === 'text') {
      for (const piece of pieces(reply.text))
        steps.push([
          'contentBlockDelta',
          { contentBlockIndex: 0, delta: { text: piece } } satisfies ContentBlockDeltaEvent,
        ]);
    } else {
      steps.push([
        'contentBlockStart',
        {
          contentBlockIndex: 0,
          start: { toolUse: { toolUseId: 'tooluse_mock_1', name: reply.name } },
        } satisfies ContentBlockStartEvent,
      ]);
      const half = Math.floor(reply.arguments.length / 2);
      for (const part of [reply.arguments.slice(0, half), reply.arguments.slice(half)])
        steps.push([
          'contentBlockDelta',
          { contentBlockIndex: 0, delta: { toolUse: { input: part } } } satisfies ContentBlockDeltaEvent,
        ]);
    }
    steps.push(['contentBlockStop', { contentBlockIndex: 0 } satisfies ContentBlockStopEvent]);
    steps.push([
      'messageStop',
      { stopReason: reply.kind === 'text' ? 'end_turn' : 'tool_use' } satisfies MessageStopEvent,
    ]);
    if (reportsUsage)
      steps.push([
        'metadata',
        { usage: usageOf(counts), metrics: { latencyMs: 12 } } satisfies ConverseStreamMetadataEvent,
      ]);
    for (const [type, payload] of steps) if (!(await event(type, payload))) return;
    if (reportsUsage) reported.push(mockUsage(counts));
    res.end();
  }

  return {
    baseURL: `http://127.0.0.1:${server.port}`,
    apiKey,
    requests: server.requests,
    reported,
    enqueue: server.enqueue,
    close: server.close,
  };
}
