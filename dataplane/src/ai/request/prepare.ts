// Reads the request once and finds what serves it: the body (size-limited, a JSON object naming a
// model), the route entry for that model (model conditions, model-based authorization) and the
// client's codec. Whatever is wrong is answered here, in the client's API shape.
import type { RoutePlan } from '../../proxy/route-plan.ts';
import { anthropicClient } from '../clients/anthropic/index.ts';
import { decodeOpenAIEmbeddings, openAIClient } from '../clients/openai/index.ts';
import { decodeOpenAIChat } from '../clients/openai/request.ts';
import { ClientRequestError } from '../clients/types.ts';
import type { AIEndpoint } from '../endpoints.ts';
import { isRecord, parseJson } from '../formats/http.ts';
import { jsonNestsDeeperThan, MAX_JSON_NESTING } from '../json-depth.ts';
import type { AIPlan } from '../plan.ts';
import { readRequestBody } from '../request-body.ts';
import { modelsPath } from './models.ts';
import type { Prepared, RequestState } from './state.ts';

/** Undefined ⇒ answered already, or handed to the plain route the model matched. */
export async function prepare(
  rs: RequestState,
  endpoint: Extract<AIEndpoint, { kind: 'operation' }>,
): Promise<Prepared | undefined> {
  const exchange = rs.exchange;
  const read = await readRequestBody(exchange.req, rs.gateway.maxRequestBodyBytes);
  if (!read.ok) {
    if (read.reason === 'too-large')
      exchange.fail('TG_ERR_AI_BODY_TOO_LARGE', { limit: rs.gateway.maxRequestBodyBytes });
    return undefined;
  }
  const text = read.body.toString('utf8');
  const json = parseJson(text);
  if (json === undefined) return invalid(rs, 'the body is not valid JSON');
  if (!isRecord(json)) return invalid(rs, 'the body must be a JSON object');
  if (jsonNestsDeeperThan(text, MAX_JSON_NESTING))
    return invalid(rs, `the body nests arrays and objects more than ${MAX_JSON_NESTING} levels deep`);
  const model = json.model;
  if (typeof model !== 'string' || model === '') return invalid(rs, 'model: a model name is required');

  const match = rs.context.rematch(model);
  if (!match) {
    exchange.fail('TG_ERR_AI_MODEL_NOT_FOUND', { model, models: modelsPath(exchange) });
    return undefined;
  }
  if (rs.context.admit && !rs.context.admit(match, model)) return undefined;
  const plan = match.entry.data;
  exchange.route = plan.id;
  exchange.routeMetrics = plan.metrics;
  if (!plan.ai) {
    rs.context.serveEntry(match, read.body);
    return undefined;
  }
  exchange.bytesIn += read.body.length;
  const client = endpoint.api === 'openai' ? openAIClient : anthropicClient;
  return {
    endpoint,
    plan: plan as RoutePlan & { ai: AIPlan },
    text,
    json,
    model,
    stream: endpoint.operation === 'chat' && json.stream === true,
    client,
    wantsUsage: client.wantsStreamUsage(json),
    guardrails: plan.guardrails?.for(exchange.policy?.caller?.id),
  };
}

/**
 * OpenAI bodies are checked up front, as they may pass through untranslated (Anthropic ones are
 * checked when translated). False ⇒ invalid (answered).
 */
export function checkClientBody(rs: RequestState, p: Prepared): boolean {
  if (p.endpoint.api !== 'openai') return true;
  try {
    rs.unified = p.endpoint.operation === 'chat' ? decodeOpenAIChat(p.json) : decodeOpenAIEmbeddings(p.json);
    return true;
  } catch (error) {
    if (error instanceof ClientRequestError) {
      invalid(rs, error.message);
      return false;
    }
    throw error;
  }
}

function invalid(rs: RequestState, reason: string): undefined {
  rs.exchange.fail('TG_ERR_AI_INVALID_REQUEST', { reason });
  return undefined;
}
