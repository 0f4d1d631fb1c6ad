// Anthropic's Messages API, both ways: pass-through for clients speaking it, translation from
// and to the unified format for OpenAI-API clients. No embeddings (Anthropic has none).
import { isRecord } from '../../formats/http.ts';
import type { ProviderAdapter, UpstreamRequest } from '../types.ts';
import { anthropicRequestBody } from './body.ts';
import { parseAnthropicError } from './errors.ts';
import { ANTHROPIC_VERSION, anthropicHeaders } from './request.ts';
import { fromAnthropicMessage } from './response.ts';
import { AnthropicPassthrough, AnthropicStreamDecoder } from './stream.ts';
import { usageFromAnthropic } from './usage.ts';

export const anthropicAdapter: ProviderAdapter = {
  types: ['anthropic'],
  nativeAPI: 'anthropic',
  supports: (operation) => operation === 'chat',
  prepare(input): UpstreamRequest {
    return {
      method: 'POST',
      path: `${input.target.basePath}/v1/messages`,
      headers: {
        'content-type': 'application/json',
        accept: input.stream ? 'text/event-stream' : 'application/json',
        ...anthropicHeaders(input),
      },
      body: anthropicRequestBody(input),
    };
  },
  chatResponse: (json) => fromAnthropicMessage(json),
  nativeUsage: (json) => (isRecord(json) ? usageFromAnthropic(json.usage) : undefined),
  streamDecoder: () => new AnthropicStreamDecoder(),
  passthroughStream: () => new AnthropicPassthrough(),
  probe(target): UpstreamRequest {
    const key = target.ir.credentials.apiKey;
    return {
      method: 'GET',
      path: `${target.basePath}/v1/models`,
      headers: { 'anthropic-version': ANTHROPIC_VERSION, ...(key ? { 'x-api-key': key } : {}) },
      body: undefined,
    };
  },
  parseError: parseAnthropicError,
};
