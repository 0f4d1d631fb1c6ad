// The adapter both Google providers share: one body format, two ways to address and authenticate.
// Each provider supplies the URL of a method and its credential headers.

import type { Usage } from '../../metering/usage.ts';
import type {
  PrepareInput,
  ProviderAdapter,
  ProviderTarget,
  UpstreamRequest,
} from '../../providers/types.ts';
import { ProviderRequestError } from '../../providers/types.ts';
import type { EmbeddingsRequest, EmbeddingsResponse } from '../../unified.ts';
import { isRecord } from '../http.ts';
import { parseGeminiError } from './errors.ts';
import { toGeminiRequest } from './request.ts';
import { fromGeminiResponse } from './response.ts';
import { GeminiStreamDecoder } from './stream.ts';
import { usageFromGemini } from './usage.ts';

export interface GoogleAdapterOptions {
  types: readonly string[];
  /** Path (basePath included) of `generateContent` or `streamGenerateContent` for a model. */
  path(method: 'generateContent' | 'streamGenerateContent', input: PrepareInput): string;
  /** Credential headers; may fetch a token. */
  headers(input: PrepareInput): Record<string, string> | Promise<Record<string, string>>;
  /** The health-check probe (the model list where the API has one). */
  probe?(target: ProviderTarget): UpstreamRequest | Promise<UpstreamRequest>;
  /** Embeddings, where the provider has an embeddings method. */
  embeddings?: {
    path(input: PrepareInput): string;
    body(request: EmbeddingsRequest, input: PrepareInput): Record<string, unknown>;
    response(json: unknown, input: PrepareInput): { response: EmbeddingsResponse; usage: Usage | undefined };
  };
}

export function googleAdapter(options: GoogleAdapterOptions): ProviderAdapter {
  const { embeddings } = options;
  return {
    types: options.types,
    nativeAPI: undefined,
    supports: (operation) => operation === 'chat' || (operation === 'embeddings' && embeddings !== undefined),
    async prepare(input): Promise<UpstreamRequest> {
      if (input.body.kind === 'embeddings' && embeddings) {
        return {
          method: 'POST',
          path: embeddings.path(input),
          headers: { 'content-type': 'application/json', ...(await options.headers(input)) },
          body: JSON.stringify(embeddings.body(input.body.request, input)),
        };
      }
      if (input.body.kind !== 'chat') throw new ProviderRequestError('this provider serves chat only');
      const body = JSON.stringify(toGeminiRequest(input.body.request));
      const path = input.stream
        ? `${options.path('streamGenerateContent', input)}?alt=sse`
        : options.path('generateContent', input);
      return {
        method: 'POST',
        path,
        headers: {
          'content-type': 'application/json',
          accept: input.stream ? 'text/event-stream' : 'application/json',
          ...(await options.headers(input)),
        },
        body,
      };
    },
    chatResponse: (json, input) => fromGeminiResponse(json, input.model),
    ...(embeddings ? { embeddingsResponse: embeddings.response } : {}),
    ...(options.probe ? { probe: options.probe } : {}),
    nativeUsage: (json) => (isRecord(json) ? usageFromGemini(json.usageMetadata) : undefined),
    streamDecoder: (input) => new GeminiStreamDecoder(input.model),
    parseError: parseGeminiError,
  };
}

/** A model name as a URL path segment (names like "tunedModels/x" keep their slash). */
export function modelSegment(model: string): string {
  return model.split('/').map(encodeURIComponent).join('/');
}
