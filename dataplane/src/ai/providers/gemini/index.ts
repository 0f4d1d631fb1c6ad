// Google Gemini (AI Studio): `{base}/v1beta/models/{model}:generateContent`, API key in
// x-goog-api-key. The wire format lives in formats/gemini/, shared with Vertex AI.
import { googleAdapter, modelSegment } from '../../formats/gemini/adapter.ts';
import type { PrepareInput, ProviderAdapter, UpstreamRequest } from '../types.ts';
import { fromBatchEmbedResponse, toBatchEmbedRequest } from './embeddings.ts';

// Gemini names models "models/x" in its own listings; either spelling addresses the same model.
const modelPath = (input: PrepareInput, method: string): string =>
  `${input.target.basePath}/v1beta/models/${modelSegment(input.model.replace(/^models\//, ''))}:${method}`;

export const geminiAdapter: ProviderAdapter = googleAdapter({
  types: ['gemini'],
  path: (method, input) => modelPath(input, method),
  headers(input): Record<string, string> {
    const key = input.target.ir.credentials.apiKey;
    return key ? { 'x-goog-api-key': key } : {};
  },
  probe(target): UpstreamRequest {
    const key = target.ir.credentials.apiKey;
    const headers: Record<string, string> = key ? { 'x-goog-api-key': key } : {};
    return { method: 'GET', path: `${target.basePath}/v1beta/models?pageSize=1`, headers, body: undefined };
  },
  embeddings: {
    path: (input) => modelPath(input, 'batchEmbedContents'),
    body: toBatchEmbedRequest,
    response: fromBatchEmbedResponse,
  },
});
