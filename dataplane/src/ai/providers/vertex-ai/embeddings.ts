// Vertex AI text embeddings (`:predict` on an embedding model): one instance per input text; each
// prediction reports its own token count, so usage is exact. OpenAI clients asking for base64 get
// the vectors as little-endian float32, as OpenAI encodes them.
import { isRecord } from '../../formats/http.ts';
import { tokenCount, type Usage } from '../../metering/usage.ts';
import type { EmbeddingsRequest, EmbeddingsResponse } from '../../unified.ts';
import { type PrepareInput, ProviderRequestError } from '../types.ts';

export function toPredictRequest(request: EmbeddingsRequest): Record<string, unknown> {
  const inputs = Array.isArray(request.input) ? request.input : [request.input];
  if (!inputs.every((input): input is string => typeof input === 'string'))
    throw new ProviderRequestError('input: this provider embeds text only, not token arrays');
  const out: Record<string, unknown> = { instances: inputs.map((content) => ({ content })) };
  if (typeof request.dimensions === 'number') out.parameters = { outputDimensionality: request.dimensions };
  return out;
}

export function fromPredictResponse(
  json: unknown,
  input: PrepareInput,
): { response: EmbeddingsResponse; usage: Usage | undefined } {
  if (!isRecord(json) || !Array.isArray(json.predictions))
    throw new Error('the provider answered embeddings without predictions');
  const base64 = input.body.kind === 'embeddings' && input.body.request.encoding_format === 'base64';
  let tokens = 0;
  const data = json.predictions.map((prediction, index) => {
    const embeddings = isRecord(prediction) && isRecord(prediction.embeddings) ? prediction.embeddings : {};
    const values = Array.isArray(embeddings.values) ? embeddings.values.map(Number) : [];
    const statistics = isRecord(embeddings.statistics) ? embeddings.statistics : {};
    tokens += tokenCount(statistics.token_count);
    const embedding = base64 ? Buffer.from(new Float32Array(values).buffer).toString('base64') : values;
    return { object: 'embedding' as const, index, embedding };
  });
  return {
    response: {
      object: 'list',
      data,
      model: input.model,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    },
    usage: {
      inputTokens: tokens,
      outputTokens: 0,
      cachedInputTokens: 0,
      cacheWriteTokens: 0,
      reasoningTokens: 0,
      estimated: false,
    },
  };
}
