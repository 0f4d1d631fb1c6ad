// Bedrock embeddings through InvokeModel (`POST /model/{id}/invoke`), whose body is the model
// family's own: Amazon Titan Text Embeddings take one `inputText` per call and report
// `inputTextTokenCount`; Cohere Embed takes a batch of `texts`. Bedrock reports the input tokens of
// any InvokeModel call in the x-amzn-bedrock-input-token-count header, which is preferred; without
// either the meter estimates.
import { embeddingsResult, textInputs } from '../../formats/embeddings.ts';
import { first, isRecord } from '../../formats/http.ts';
import { tokenCount, type Usage } from '../../metering/usage.ts';
import type { EmbeddingsRequest, EmbeddingsResponse } from '../../unified.ts';
import { type PrepareInput, ProviderRequestError } from '../types.ts';

type Family = 'titan' | 'cohere';

/** "amazon.titan-embed-text-v2:0", "us.cohere.embed-english-v3", an inference-profile ARN … → family. */
function familyOf(model: string): Family {
  const name = model.split('/').at(-1)!;
  if (/(^|\.)amazon\.titan-embed/.test(name)) return 'titan';
  if (/(^|\.)cohere\.embed/.test(name)) return 'cohere';
  throw new ProviderRequestError(
    `model: "${model}" is not an embeddings model this gateway can address on Bedrock (Amazon Titan Text Embeddings or Cohere Embed)`,
  );
}

export function embeddingsRequestBody(input: PrepareInput, request: EmbeddingsRequest): string {
  const texts = textInputs(request);
  if (familyOf(input.model) === 'titan') {
    if (texts.length !== 1)
      throw new ProviderRequestError(
        `input: ${input.model} embeds one text per request; send ${texts.length} requests`,
      );
    return JSON.stringify({
      inputText: texts[0],
      ...(typeof request.dimensions === 'number' ? { dimensions: request.dimensions } : {}),
    });
  }
  return JSON.stringify({ texts, input_type: 'search_document' });
}

export function fromEmbeddingsResponse(
  json: unknown,
  input: PrepareInput,
  headers: Readonly<Record<string, string | string[] | undefined>>,
): { response: EmbeddingsResponse; usage: Usage | undefined } {
  if (!isRecord(json)) throw new Error('the provider answered embeddings that are not a JSON object');
  const header = first(headers['x-amzn-bedrock-input-token-count']);
  const fromHeader = header !== undefined && /^\d+$/.test(header) ? Number(header) : undefined;
  if (familyOf(input.model) === 'titan') {
    if (!Array.isArray(json.embedding)) throw new Error('the provider answered embeddings without embedding');
    const reported =
      json.inputTextTokenCount !== undefined ? tokenCount(json.inputTextTokenCount) : undefined;
    return embeddingsResult([json.embedding], input, fromHeader ?? reported);
  }
  // Cohere answers `embeddings` as a list of vectors, or by type when embedding_types was given.
  const embeddings = isRecord(json.embeddings) ? json.embeddings.float : json.embeddings;
  if (!Array.isArray(embeddings)) throw new Error('the provider answered embeddings without embeddings');
  const vectors = embeddings.map((vector) => (Array.isArray(vector) ? vector : []));
  return embeddingsResult(vectors, input, fromHeader);
}
