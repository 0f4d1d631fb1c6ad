// The provider adapter for everything that speaks OpenAI's API (openai, azure-openai, mistral,
// openai-compatible servers): one implementation of the format, and per provider only what
// differs — where requests go, how they authenticate, which request fields it accepts.
import { type JsonEdits, spliceJson } from '../../json-splice.ts';
import type { Usage } from '../../metering/usage.ts';
import type {
  Operation,
  PassthroughStream,
  PrepareInput,
  ProviderAdapter,
  ProviderError,
  ProviderTarget,
  StreamDecoder,
  UpstreamRequest,
} from '../../providers/types.ts';
import type { ChatCompletion, ChatRequest, EmbeddingsResponse } from '../../unified.ts';
import { isRecord } from '../http.ts';
import { parseOpenAIError } from './errors.ts';
import { OpenAIPassthrough, OpenAIStreamDecoder } from './stream.ts';
import { usageFromOpenAI } from './usage.ts';

export interface OpenAIStyleOptions {
  types: readonly string[];
  /** Path and query of an operation, basePath included. */
  path(operation: Operation, model: string, target: ProviderTarget): string;
  /** Authentication headers (and any other fixed headers) for the provider. */
  headers(target: ProviderTarget): Record<string, string>;
  /**
   * Whether the provider honours `stream_options.include_usage`. When it does not, the field is
   * never sent and the provider must report usage unasked (or the gateway estimates it).
   */
  streamUsageOption: boolean;
  /** Path of the model list (the health-check probe); default `{basePath}/models`. */
  modelsPath?(target: ProviderTarget): string;
  /** Provider-specific edits of a native (OpenAI-format) request body. */
  nativeEdits?(json: Record<string, unknown>, input: PrepareInput): JsonEdits;
  /** Provider-specific changes of a unified request about to be serialised. */
  adjustUnified?(body: Record<string, unknown>, input: PrepareInput): void;
}

export function openAIStyleAdapter(options: OpenAIStyleOptions): ProviderAdapter {
  return {
    types: options.types,
    nativeAPI: 'openai',
    supports: (operation) => operation === 'chat' || operation === 'embeddings',
    prepare(input): UpstreamRequest {
      const { target, operation, model, stream } = input;
      return {
        method: 'POST',
        path: options.path(operation, model, target),
        headers: {
          'content-type': 'application/json',
          accept: stream ? 'text/event-stream' : 'application/json',
          ...options.headers(target),
        },
        body: requestBody(input, options),
      };
    },
    chatResponse(json): { completion: ChatCompletion; usage: Usage | undefined } {
      if (!isRecord(json) || !Array.isArray(json.choices))
        throw new Error('the provider answered a chat completion without choices');
      return { completion: json as ChatCompletion, usage: usageFromOpenAI(json.usage) };
    },
    embeddingsResponse(json): { response: EmbeddingsResponse; usage: Usage | undefined } {
      if (!isRecord(json) || !Array.isArray(json.data))
        throw new Error('the provider answered embeddings without data');
      return { response: json as EmbeddingsResponse, usage: usageFromOpenAI(json.usage) };
    },
    nativeUsage: (json) => (isRecord(json) ? usageFromOpenAI(json.usage) : undefined),
    streamDecoder: (): StreamDecoder => new OpenAIStreamDecoder(),
    passthroughStream: (_input, passthrough): PassthroughStream => new OpenAIPassthrough(passthrough),
    probe: (target): UpstreamRequest => ({
      method: 'GET',
      path: options.modelsPath?.(target) ?? `${target.basePath}/models`,
      headers: { accept: 'application/json', ...options.headers(target) },
      body: undefined,
    }),
    parseError: (status, headers, body): ProviderError => parseOpenAIError(status, headers, body),
  };
}

function requestBody(input: PrepareInput, options: OpenAIStyleOptions): string {
  const { body, model, stream } = input;
  if (body.kind === 'native') {
    const { json } = body;
    const edits: JsonEdits = {};
    if (json.model !== model) edits.model = JSON.stringify(model);
    if (input.operation === 'chat' && stream) {
      const asked = isRecord(json.stream_options) ? json.stream_options : undefined;
      if (options.streamUsageOption && asked?.include_usage !== true)
        edits.stream_options = JSON.stringify({ ...asked, include_usage: true });
      if (!options.streamUsageOption && json.stream_options !== undefined) edits.stream_options = undefined;
    }
    Object.assign(edits, options.nativeEdits?.(json, input));
    return spliceJson(body.text, edits);
  }
  const out: Record<string, unknown> = { ...(body.request as ChatRequest), model };
  if (body.kind === 'chat') {
    if (stream) {
      out.stream = true;
      if (options.streamUsageOption) out.stream_options = { include_usage: true };
      else delete out.stream_options;
    } else {
      delete out.stream;
      delete out.stream_options;
    }
  }
  options.adjustUnified?.(out, input);
  return JSON.stringify(out);
}

/** `Authorization: Bearer <apiKey>` when the provider has a key. */
export function bearer(target: ProviderTarget): Record<string, string> {
  const key = target.ir.credentials.apiKey;
  return key ? { authorization: `Bearer ${key}` } : {};
}

/** The standard OpenAI paths under a base path. */
export function openAIPath(operation: Operation, basePath: string): string {
  return `${basePath}/${operation === 'chat' ? 'chat/completions' : 'embeddings'}`;
}
