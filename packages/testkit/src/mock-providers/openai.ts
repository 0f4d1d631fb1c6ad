// A mock of OpenAI's API (chat completions, streaming included; embeddings; models) and of the
// providers that speak it with differences: Azure OpenAI (deployments, api-version, api-key
// header), Mistral (usage on the last chunk unasked, no stream_options) and OpenAI-compatible
// servers (optionally reporting no usage at all). Shapes follow the official SDK's types.
import type { ChatCompletion, ChatCompletionChunk } from 'openai/resources/chat/completions';
import type { CreateEmbeddingResponse } from 'openai/resources/embeddings';
import {
  type Conversation,
  type Counts,
  countTokens,
  pieces,
  type Reply,
  replyText,
  replyTo,
  words,
} from './script.ts';
import { type MockExchange, sendJson, startMockServer } from './server.ts';
import { SSEWriter } from './sse.ts';
import type { MockProvider, MockProviderOptions, MockUsage } from './types.ts';

export type OpenAIVariant = 'openai' | 'azure-openai' | 'mistral' | 'openai-compatible';

export interface OpenAIMockOptions extends MockProviderOptions {
  variant?: OpenAIVariant;
}

type Usage = NonNullable<ChatCompletion['usage']>;

function errorBody(status: number, message: string): string {
  const type =
    status === 429
      ? 'rate_limit_exceeded'
      : status === 401
        ? 'invalid_request_error'
        : status >= 500
          ? 'server_error'
          : 'invalid_request_error';
  return JSON.stringify({
    error: { message, type, param: null, code: status === 401 ? 'invalid_api_key' : null },
  });
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((p) =>
      p && typeof p === 'object' && (p as { type?: unknown }).type === 'text'
        ? String((p as { text?: unknown }).text ?? '')
        : '',
    )
    .join(' ');
}

function conversationOf(body: Record<string, unknown>): Conversation {
  const messages = Array.isArray(body.messages) ? (body.messages as Array<Record<string, unknown>>) : [];
  const last = messages.at(-1);
  const role = last?.role;
  const tools = Array.isArray(body.tools) ? (body.tools as Array<{ function?: { name?: string } }>) : [];
  return {
    promptTexts: messages.map((m) => textOf(m.content)),
    lastRole: role === 'user' || role === 'tool' || role === 'assistant' ? role : 'other',
    lastText: textOf(last?.content),
    toolNames: tools.map((t) => t.function?.name ?? '').filter(Boolean),
    toolsRefused: body.tool_choice === 'none',
  };
}

function wireUsage(counts: Counts): Usage {
  return {
    prompt_tokens: counts.input,
    completion_tokens: counts.output,
    total_tokens: counts.input + counts.output,
    prompt_tokens_details: { cached_tokens: counts.cached, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: counts.reasoning,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

function asMockUsage(counts: Counts): MockUsage {
  return {
    inputTokens: counts.input,
    outputTokens: counts.output,
    cachedInputTokens: counts.cached,
    cacheWriteTokens: 0,
    reasoningTokens: counts.reasoning,
  };
}

export async function startOpenAIMock(options: OpenAIMockOptions = {}): Promise<MockProvider> {
  const variant = options.variant ?? 'openai';
  const apiKey = options.apiKey ?? `sk-mock-${variant}-0123456789`;
  const reportsUsage = options.usage !== false;
  const reported: MockUsage[] = [];
  let sequence = 0;

  const authorized = (exchange: MockExchange): boolean => {
    const { req } = exchange;
    const given =
      variant === 'azure-openai'
        ? req.headers['api-key']
        : req.headers.authorization?.replace(/^Bearer /, '');
    if (given === apiKey) return true;
    sendJson(exchange.res, 401, JSON.parse(errorBody(401, `Incorrect API key provided: ${String(given)}.`)));
    return false;
  };

  /** The operation a path names, or undefined (404). Azure puts the deployment in the path. */
  const operationOf = (
    url: URL,
  ): { op: 'chat' | 'embeddings' | 'models'; deployment?: string } | undefined => {
    if (variant === 'azure-openai') {
      const match = /^\/openai\/deployments\/([^/]+)\/(chat\/completions|embeddings)$/.exec(url.pathname);
      if (!match) return undefined;
      return {
        op: match[2] === 'embeddings' ? 'embeddings' : 'chat',
        deployment: decodeURIComponent(match[1]!),
      };
    }
    if (url.pathname.endsWith('/chat/completions')) return { op: 'chat' };
    if (url.pathname.endsWith('/embeddings')) return { op: 'embeddings' };
    if (url.pathname.endsWith('/models')) return { op: 'models' };
    return undefined;
  };

  const server = await startMockServer(options.port ?? 0, {
    errorBody,
    async handle(exchange) {
      const { url, res, body } = exchange;
      const route = operationOf(url);
      if (!route) return sendJson(res, 404, JSON.parse(errorBody(404, `Unknown path ${url.pathname}`)));
      if (!authorized(exchange)) return;
      if (variant === 'azure-openai' && !url.searchParams.get('api-version'))
        return sendJson(res, 404, { error: { code: '404', message: 'Resource not found' } });
      if (route.op === 'models') {
        return sendJson(res, 200, {
          object: 'list',
          data: [{ id: 'mock-model', object: 'model', created: 0, owned_by: 'mock' }],
        });
      }
      if (!body || typeof body.model !== 'string')
        return sendJson(res, 400, JSON.parse(errorBody(400, 'model is required')));
      const model = route.deployment ?? body.model;
      if (route.op === 'embeddings') return embeddings(exchange, model, body);
      if (variant === 'mistral' && body.stream_options !== undefined) {
        // Mistral's API does not know stream_options; it refuses unknown fields.
        return sendJson(res, 422, {
          object: 'error',
          message: 'Extra inputs are not permitted: stream_options',
          type: 'invalid_request_error',
          code: null,
        });
      }
      const conversation = conversationOf(body);
      const reply = replyTo(conversation);
      const counts = countTokens(conversation, reply, { cacheWrite: false, reasoning: variant === 'openai' });
      const id = `chatcmpl-mock${++sequence}`;
      if (body.stream === true) return stream(exchange, id, model, reply, counts, body);
      const completion: ChatCompletion = {
        id,
        object: 'chat.completion',
        created: 1_700_000_000,
        model,
        choices: [
          {
            index: 0,
            message:
              reply.kind === 'text'
                ? { role: 'assistant', content: reply.text, refusal: null }
                : {
                    role: 'assistant',
                    content: null,
                    refusal: null,
                    tool_calls: [
                      {
                        id: reply.id,
                        type: 'function',
                        function: { name: reply.name, arguments: reply.arguments },
                      },
                    ],
                  },
            finish_reason: reply.kind === 'text' ? 'stop' : 'tool_calls',
            logprobs: null,
          },
        ],
      };
      if (reportsUsage) {
        completion.usage = wireUsage(counts);
        reported.push(asMockUsage(counts));
      }
      sendJson(res, 200, completion);
    },
  });

  function embeddings(exchange: MockExchange, model: string, body: Record<string, unknown>): void {
    const inputs = Array.isArray(body.input) ? body.input : [body.input];
    const tokens =
      inputs.reduce<number>((n, input) => n + (typeof input === 'string' ? words(input) : 1), 0) + 1;
    const response: CreateEmbeddingResponse = {
      object: 'list',
      model,
      data: inputs.map((_input, index) => ({ object: 'embedding', index, embedding: [0.25, -0.5, index] })),
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    };
    if (reportsUsage)
      reported.push({
        inputTokens: tokens,
        outputTokens: 0,
        cachedInputTokens: 0,
        cacheWriteTokens: 0,
        reasoningTokens: 0,
      });
    sendJson(exchange.res, 200, response);
  }

  async function stream(
    exchange: MockExchange,
    id: string,
    model: string,
    reply: Reply,
    counts: Counts,
    body: Record<string, unknown>,
  ): Promise<void> {
    const sse = new SSEWriter(exchange.res, options.framing, exchange.cutAfter);
    const askedUsage =
      (body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true;
    // OpenAI: usage only when asked, as a last chunk with no choices; Mistral: always, on the final chunk.
    const usageChunk = reportsUsage && variant !== 'mistral' && askedUsage;
    const usageOnFinal = reportsUsage && variant === 'mistral';
    const chunk = (
      delta: ChatCompletionChunk.Choice.Delta,
      finish: ChatCompletionChunk.Choice['finish_reason'],
    ): ChatCompletionChunk => ({
      id,
      object: 'chat.completion.chunk',
      created: 1_700_000_000,
      model,
      choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
      ...(usageChunk ? { usage: null } : {}),
    });
    if (exchange.streamError) {
      await sse.send(
        undefined,
        JSON.stringify({ error: { message: exchange.streamError, type: 'server_error', code: 503 } }),
      );
      return sse.end();
    }
    await sse.send(undefined, JSON.stringify(chunk({ role: 'assistant', content: '' }, null)));
    if (reply.kind === 'text') {
      for (const piece of pieces(reply.text))
        await sse.send(undefined, JSON.stringify(chunk({ content: piece }, null)));
    } else {
      await sse.send(
        undefined,
        JSON.stringify(
          chunk(
            {
              tool_calls: [
                { index: 0, id: reply.id, type: 'function', function: { name: reply.name, arguments: '' } },
              ],
            },
            null,
          ),
        ),
      );
      const half = Math.floor(reply.arguments.length / 2);
      for (const part of [reply.arguments.slice(0, half), reply.arguments.slice(half)])
        await sse.send(
          undefined,
          JSON.stringify(chunk({ tool_calls: [{ index: 0, function: { arguments: part } }] }, null)),
        );
    }
    const last = chunk({}, reply.kind === 'text' ? 'stop' : 'tool_calls');
    if (usageOnFinal) last.usage = wireUsage(counts);
    await sse.send(undefined, JSON.stringify(last));
    if (usageChunk) {
      await sse.send(
        undefined,
        JSON.stringify({
          id,
          object: 'chat.completion.chunk',
          created: 1_700_000_000,
          model,
          choices: [],
          usage: wireUsage(counts),
        }),
      );
    }
    if (usageChunk || usageOnFinal) reported.push(asMockUsage(counts));
    await sse.send(undefined, '[DONE]');
    await sse.end();
  }

  const prefix = variant === 'azure-openai' ? '' : '/v1';
  return {
    baseURL: `http://127.0.0.1:${server.port}${prefix}`,
    apiKey,
    requests: server.requests,
    reported,
    enqueue: server.enqueue,
    close: server.close,
  };
}

export { type Reply, replyText };
