// A mock of Anthropic's Messages API: x-api-key and anthropic-version checked, messages answered
// whole or as the documented event stream (message_start, content_block_start, ping,
// content_block_delta with text_delta / input_json_delta, content_block_stop, message_delta with
// usage, message_stop), errors in Anthropic's shape (429 with retry-after, 529 overloaded, an
// `error` event mid-stream). Shapes follow the official SDK's types.
import type { Message, RawMessageStreamEvent } from '@anthropic-ai/sdk/resources/messages';
import { type Conversation, type Counts, countTokens, pieces, type Reply, replyTo } from './script.ts';
import { type MockExchange, sendJson, startMockServer } from './server.ts';
import { SSEWriter } from './sse.ts';
import type { MockProvider, MockProviderOptions, MockUsage } from './types.ts';

function errorType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  if (status === 529) return 'overloaded_error';
  if (status >= 500) return 'api_error';
  return 'invalid_request_error';
}

function errorBody(status: number, message: string): string {
  return JSON.stringify({ type: 'error', error: { type: errorType(status), message } });
}

type Block = Record<string, unknown>;

function blocksOf(content: unknown): Block[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  return Array.isArray(content) ? (content as Block[]) : [];
}

function blockText(block: Block): string {
  if (block.type === 'text') return String(block.text ?? '');
  if (block.type === 'tool_result')
    return typeof block.content === 'string'
      ? block.content
      : blocksOf(block.content).map(blockText).join(' ');
  return '';
}

function conversationOf(body: Record<string, unknown>): Conversation {
  const messages = Array.isArray(body.messages) ? (body.messages as Array<Record<string, unknown>>) : [];
  const last = messages.at(-1);
  const lastBlocks = blocksOf(last?.content);
  const toolResult = lastBlocks.find((b) => b.type === 'tool_result');
  const system =
    typeof body.system === 'string' ? body.system : blocksOf(body.system).map(blockText).join(' ');
  const tools = Array.isArray(body.tools) ? (body.tools as Array<{ name?: string }>) : [];
  return {
    promptTexts: [system, ...messages.flatMap((m) => blocksOf(m.content).map(blockText))],
    lastRole: last?.role === 'assistant' ? 'assistant' : toolResult ? 'tool' : 'user',
    lastText: toolResult ? blockText(toolResult) : lastBlocks.map(blockText).join(' '),
    toolNames: tools.map((t) => t.name ?? '').filter(Boolean),
    toolsRefused: (body.tool_choice as { type?: string } | undefined)?.type === 'none',
  };
}

/** Anthropic counts cache reads and writes apart from input_tokens. */
function usageOf(counts: Counts): Message['usage'] {
  return {
    input_tokens: counts.input - counts.cached - counts.cacheWrite,
    output_tokens: counts.output,
    cache_read_input_tokens: counts.cached,
    cache_creation_input_tokens: counts.cacheWrite,
    cache_creation: null,
    inference_geo: null,
    output_tokens_details: null,
    server_tool_use: null,
    service_tier: 'standard',
    speed: null,
  };
}

export async function startAnthropicMock(options: MockProviderOptions = {}): Promise<MockProvider> {
  const apiKey = options.apiKey ?? 'sk-ant-mock-0123456789';
  const reportsUsage = options.usage !== false;
  const reported: MockUsage[] = [];
  let sequence = 0;

  const server = await startMockServer(options.port ?? 0, {
    errorBody,
    async handle(exchange) {
      const { req, res, url, body } = exchange;
      if (url.pathname === '/v1/models')
        return sendJson(res, 200, { data: [], has_more: false, first_id: null, last_id: null });
      if (url.pathname !== '/v1/messages' || req.method !== 'POST')
        return sendJson(res, 404, JSON.parse(errorBody(404, 'Not found')));
      if (req.headers['x-api-key'] !== apiKey)
        return sendJson(res, 401, JSON.parse(errorBody(401, 'invalid x-api-key')));
      if (!req.headers['anthropic-version'])
        return sendJson(res, 400, JSON.parse(errorBody(400, 'anthropic-version: header is required')));
      if (
        !body ||
        typeof body.model !== 'string' ||
        typeof body.max_tokens !== 'number' ||
        !Array.isArray(body.messages)
      )
        return sendJson(res, 400, JSON.parse(errorBody(400, 'model, max_tokens and messages are required')));
      const conversation = conversationOf(body);
      const reply = replyTo(conversation);
      const counts = countTokens(conversation, reply, { cacheWrite: true, reasoning: false });
      const id = `msg_mock${++sequence}`;
      if (body.stream === true) return stream(exchange, id, body.model, reply, counts);
      const message: Message = {
        id,
        type: 'message',
        role: 'assistant',
        model: body.model,
        container: null,
        diagnostics: null,
        stop_details: null,
        content:
          reply.kind === 'text'
            ? [{ type: 'text', text: reply.text, citations: null }]
            : [
                {
                  type: 'tool_use',
                  id: 'toolu_mock_1',
                  name: reply.name,
                  input: JSON.parse(reply.arguments) as unknown,
                  caller: { type: 'direct' },
                },
              ],
        stop_reason: reply.kind === 'text' ? 'end_turn' : 'tool_use',
        stop_sequence: null,
        usage: reportsUsage
          ? usageOf(counts)
          : usageOf({ input: 0, output: 0, cached: 0, cacheWrite: 0, reasoning: 0 }),
      };
      if (reportsUsage) reported.push(mockUsage(counts));
      sendJson(res, 200, message);
    },
  });

  function mockUsage(counts: Counts): MockUsage {
    return {
      inputTokens: counts.input,
      outputTokens: counts.output,
      cachedInputTokens: counts.cached,
      cacheWriteTokens: counts.cacheWrite,
      reasoningTokens: 0,
    };
  }

  async function stream(
    exchange: MockExchange,
    id: string,
    model: string,
    reply: Reply,
    counts: Counts,
  ): Promise<void> {
    const sse = new SSEWriter(exchange.res, options.framing, exchange.cutAfter);
    const send = (
      event:
        | RawMessageStreamEvent
        | { type: 'ping' }
        | { type: 'error'; error: { type: string; message: string } },
    ) => sse.send(event.type, JSON.stringify(event));
    if (exchange.streamError) {
      await send({ type: 'error', error: { type: 'overloaded_error', message: exchange.streamError } });
      return sse.end();
    }
    const start = usageOf(counts);
    await send({
      type: 'message_start',
      message: {
        id,
        type: 'message',
        role: 'assistant',
        model,
        content: [],
        container: null,
        diagnostics: null,
        stop_details: null,
        stop_reason: null,
        stop_sequence: null,
        usage: { ...start, output_tokens: 1 },
      },
    });
    if (reply.kind === 'text') {
      await send({
        type: 'content_block_start',
        index: 0,
        content_block: { type: 'text', text: '', citations: null },
      });
      await send({ type: 'ping' });
      for (const piece of pieces(reply.text))
        await send({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: piece } });
    } else {
      await send({
        type: 'content_block_start',
        index: 0,
        content_block: {
          type: 'tool_use',
          id: 'toolu_mock_1',
          name: reply.name,
          input: {},
          caller: { type: 'direct' },
        },
      });
      await send({ type: 'ping' });
      const half = Math.floor(reply.arguments.length / 2);
      for (const part of [reply.arguments.slice(0, half), reply.arguments.slice(half)])
        await send({
          type: 'content_block_delta',
          index: 0,
          delta: { type: 'input_json_delta', partial_json: part },
        });
    }
    await send({ type: 'content_block_stop', index: 0 });
    await send({
      type: 'message_delta',
      delta: {
        stop_reason: reply.kind === 'text' ? 'end_turn' : 'tool_use',
        stop_sequence: null,
        stop_details: null,
        container: null,
      },
      usage: reportsUsage
        ? {
            output_tokens: counts.output,
            input_tokens: start.input_tokens,
            cache_read_input_tokens: counts.cached,
            cache_creation_input_tokens: counts.cacheWrite,
            output_tokens_details: null,
            server_tool_use: null,
          }
        : {
            output_tokens: 0,
            input_tokens: null,
            cache_read_input_tokens: null,
            cache_creation_input_tokens: null,
            output_tokens_details: null,
            server_tool_use: null,
          },
    });
    if (reportsUsage) reported.push(mockUsage(counts));
    await send({ type: 'message_stop' });
    await sse.end();
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
