// The AI side of budgets: the most a request can cost before it is sent (prompt estimate plus the
// largest output it may produce, priced at the dearest candidate model), the metered figures it
// settles with, and a running count of the output a stream has delivered, for cutting a stream
// off where its budget ends.
import type { AIAccessRecord } from '../observability/index.ts';
import type { SpendDemand, SpentUsage } from '../policies/index.ts';
import { isRecord, parseJson } from './formats/http.ts';
import { chunkText } from './formats/openai/stream.ts';
import { SSEReader } from './formats/sse.ts';
import { countTokens } from './metering/estimate.ts';
import { costMicros } from './metering/pricing.ts';
import type { Candidate } from './plan.ts';
import type { ClientAPI, Operation } from './providers/types.ts';

/** `max_completion_tokens` / `max_tokens` of the body, else the largest limit of the candidates' models. */
function maxOutputTokens(
  json: Record<string, unknown>,
  candidates: readonly Candidate[],
  input: number,
): number {
  for (const field of ['max_completion_tokens', 'max_tokens', 'max_output_tokens']) {
    const value = json[field];
    if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
  }
  let most = 0;
  for (const c of candidates) {
    const model = c.backend.provider.ir.models.find((m) => m.name === c.model.upstream);
    const limit = model?.maxOutputTokens ?? (model?.contextWindow ? model.contextWindow - input : undefined);
    if (limit === undefined) return Number.POSITIVE_INFINITY;
    most = Math.max(most, limit);
  }
  return candidates.length > 0 ? most : Number.POSITIVE_INFINITY;
}

export function spendDemand(
  json: Record<string, unknown>,
  operation: Operation,
  candidates: readonly Candidate[],
  inputTokens: number,
): SpendDemand {
  const maxOutput = operation === 'embeddings' ? 0 : maxOutputTokens(json, candidates, inputTokens);
  return {
    inputTokens,
    maxOutputTokens: maxOutput,
    costMicros(currency, input, output) {
      let most = 0;
      for (const c of candidates) {
        const pricing = c.model.pricing;
        if (!pricing || pricing.currency !== currency) continue;
        if (!Number.isFinite(output)) {
          if (pricing.output > 0n) return Number.POSITIVE_INFINITY;
          output = 0;
        }
        const usage = {
          inputTokens: input,
          outputTokens: output,
          cachedInputTokens: 0,
          cacheWriteTokens: 0,
          reasoningTokens: 0,
          estimated: true,
        };
        most = Math.max(most, costMicros(usage, pricing));
      }
      return most;
    },
  };
}

export function spentOf(record: AIAccessRecord | undefined): SpentUsage | undefined {
  if (!record || (record.inputTokens === 0 && record.outputTokens === 0)) return undefined;
  return {
    inputTokens: record.inputTokens,
    outputTokens: record.outputTokens,
    costMicros: record.costMicros,
    currency: record.currency,
  };
}

/** Output tokens in the client's stream so far, read from the events the client receives. */
export class StreamOutputCount {
  readonly #api: ClientAPI;
  readonly #reader = new SSEReader();
  tokens = 0;

  constructor(api: ClientAPI) {
    this.#api = api;
  }

  push(text: string): number {
    for (const event of this.#reader.push(Buffer.from(text))) {
      if (event.data === '[DONE]') continue;
      const json = parseJson(event.data);
      if (json === undefined) continue;
      this.tokens += countTokens(this.#api === 'openai' ? chunkText(json) : anthropicDeltaText(json));
    }
    return this.tokens;
  }
}

function anthropicDeltaText(json: unknown): string {
  if (!isRecord(json) || json.type !== 'content_block_delta' || !isRecord(json.delta)) return '';
  const { delta } = json;
  for (const field of ['text', 'partial_json', 'thinking']) {
    if (typeof delta[field] === 'string') return delta[field];
  }
  return '';
}
