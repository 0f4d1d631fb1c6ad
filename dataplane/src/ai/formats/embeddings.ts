// What embeddings adapters of providers without OpenAI's format share: the inputs as texts, and
// the vectors back in OpenAI's shape (base64 as little-endian float32 when the client asked for
// it, as OpenAI encodes them), with usage where the provider reported it.
import type { Usage } from '../metering/usage.ts';
import { type PrepareInput, ProviderRequestError } from '../providers/types.ts';
import type { EmbeddingsRequest, EmbeddingsResponse } from '../unified.ts';

/** The request's inputs as texts; token arrays only OpenAI-format providers take. */
export function textInputs(request: EmbeddingsRequest): string[] {
  const inputs = Array.isArray(request.input) ? request.input : [request.input];
  if (inputs.length === 0) throw new ProviderRequestError('input: at least one text is required');
  if (!inputs.every((input): input is string => typeof input === 'string'))
    throw new ProviderRequestError('input: this provider embeds text only, not token arrays');
  return inputs;
}

/**
 * The unified response. `inputTokens` undefined ⇒ the provider reported no usage: usage is left
 * undefined for the meter to estimate (the response's usage is then filled from the estimate).
 */
export function embeddingsResult(
  vectors: readonly (readonly unknown[])[],
  input: PrepareInput,
  inputTokens: number | undefined,
): { response: EmbeddingsResponse; usage: Usage | undefined } {
  const base64 = input.body.kind === 'embeddings' && input.body.request.encoding_format === 'base64';
  const data = vectors.map((raw, index) => {
    const values = raw.map(Number);
    const embedding = base64 ? Buffer.from(new Float32Array(values).buffer).toString('base64') : values;
    return { object: 'embedding' as const, index, embedding };
  });
  const tokens = inputTokens ?? 0;
  return {
    response: {
      object: 'list',
      data,
      model: input.model,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    },
    usage:
      inputTokens === undefined
        ? undefined
        : {
            inputTokens,
            outputTokens: 0,
            cachedInputTokens: 0,
            cacheWriteTokens: 0,
            reasoningTokens: 0,
            estimated: false,
          },
  };
}
