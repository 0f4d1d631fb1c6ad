// AWS Bedrock's Converse API: unified chat translated to Converse / ConverseStream, requests
// signed with SigV4, the binary event stream decoded. No pass-through (no client speaks Converse).
// Embeddings go through InvokeModel with the model family's body (embeddings.ts).
import { isRecord } from '../../formats/http.ts';
import type { ProviderAdapter, UpstreamRequest } from '../types.ts';
import { embeddingsRequestBody, fromEmbeddingsResponse } from './embeddings.ts';
import { parseBedrockError } from './errors.ts';
import { converseRequestBody } from './request.ts';
import { fromConverseResponse } from './response.ts';
import { signRequest } from './sign.ts';
import { BedrockStreamDecoder } from './stream.ts';
import { usageFromBedrock } from './usage.ts';

export const bedrockAdapter: ProviderAdapter = {
  types: ['bedrock'],
  nativeAPI: undefined,
  supports: (operation) => operation === 'chat' || operation === 'embeddings',
  async prepare(input): Promise<UpstreamRequest> {
    const embeddings = input.body.kind === 'embeddings' ? input.body.request : undefined;
    const body = embeddings ? embeddingsRequestBody(input, embeddings) : converseRequestBody(input);
    const action = embeddings ? 'invoke' : input.stream ? 'converse-stream' : 'converse';
    const path = `${input.target.basePath}/model/${encodeURIComponent(input.model)}/${action}`;
    const headers = await signRequest({
      target: input.target,
      path,
      headers: {
        'content-type': 'application/json',
        accept: input.stream ? 'application/vnd.amazon.eventstream' : 'application/json',
      },
      body,
    });
    return { method: 'POST', path, headers, body };
  },
  chatResponse: (json, input) => fromConverseResponse(json, input.model),
  embeddingsResponse: fromEmbeddingsResponse,
  nativeUsage: (json) => (isRecord(json) ? usageFromBedrock(json.usage) : undefined),
  streamDecoder: (input) => new BedrockStreamDecoder(input.model),
  parseError: parseBedrockError,
};
