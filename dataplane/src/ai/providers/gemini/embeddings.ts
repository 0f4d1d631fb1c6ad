// Gemini (AI Studio) embeddings: `:batchEmbedContents` with one EmbedContentRequest per input text
// (each names the model again, as the API requires). The answer carries vectors only, no token
// counts, so the meter estimates the input and marks it estimated.
import { embeddingsResult, textInputs } from '../../formats/embeddings.ts';
import { isRecord } from '../../formats/http.ts';
import type { Usage } from '../../metering/usage.ts';
import type { EmbeddingsRequest, EmbeddingsResponse } from '../../unified.ts';
import type { PrepareInput } from '../types.ts';

export function toBatchEmbedRequest(
  request: EmbeddingsRequest,
  input: PrepareInput,
): Record<string, unknown> {
  const model = `models/${input.model.replace(/^models\//, '')}`;
  return {
    requests: textInputs(request).map((text) => ({
      model,
      content: { parts: [{ text }] },
      ...(typeof request.dimensions === 'number' ? { outputDimensionality: request.dimensions } : {}),
    })),
  };
}

export function fromBatchEmbedResponse(
  json: unknown,
  input: PrepareInput,
): { response: EmbeddingsResponse; usage: Usage | undefined } {
  if (!isRecord(json) || !Array.isArray(json.embeddings))
    throw new Error('the provider answered embeddings without embeddings');
  const vectors = json.embeddings.map((embedding) =>
    isRecord(embedding) && Array.isArray(embedding.values) ? embedding.values : [],
  );
  return embeddingsResult(vectors, input, undefined);
}
