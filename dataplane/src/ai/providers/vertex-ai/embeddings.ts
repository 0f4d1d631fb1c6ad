// Vertex AI text embeddings (`:predict` on an embedding model): one instance per input text; each
// prediction reports its own token count, so usage is exact.
import { embeddingsResult, textInputs } from '../../formats/embeddings.ts';
import { isRecord } from '../../formats/http.ts';
import { tokenCount, type Usage } from '../../metering/usage.ts';
import type { EmbeddingsRequest, EmbeddingsResponse } from '../../unified.ts';
import type { PrepareInput } from '../types.ts';

export function toPredictRequest(request: EmbeddingsRequest): Record<string, unknown> {
  const out: Record<string, unknown> = { instances: textInputs(request).map((content) => ({ content })) };
  if (typeof request.dimensions === 'number') out.parameters = { outputDimensionality: request.dimensions };
  return out;
}

export function fromPredictResponse(
  json: unknown,
  input: PrepareInput,
): { response: EmbeddingsResponse; usage: Usage | undefined } {
  if (!isRecord(json) || !Array.isArray(json.predictions))
    throw new Error('the provider answered embeddings without predictions');
  let tokens = 0;
  const vectors = json.predictions.map((prediction) => {
    const embeddings = isRecord(prediction) && isRecord(prediction.embeddings) ? prediction.embeddings : {};
    const statistics = isRecord(embeddings.statistics) ? embeddings.statistics : {};
    tokens += tokenCount(statistics.token_count);
    return Array.isArray(embeddings.values) ? embeddings.values : [];
  });
  return embeddingsResult(vectors, input, tokens);
}
