// One request on an AI route, from start to end: read and parse the body once, route on the
// model, apply request guardrails, hold the budget, then hand over to the attempt loop
// (request/fallback.ts) under the route's request timeout, and settle the budget with what was
// spent. The stages live in request/*; this file only orders them.
import type { RoutePlan } from '../proxy/route-plan.ts';
import { spentOf } from './budget-spend.ts';
import { anthropicClient } from './clients/anthropic/index.ts';
import { decodeOpenAIEmbeddings, openAIClient } from './clients/openai/index.ts';
import { decodeOpenAIChat } from './clients/openai/request.ts';
import { ClientRequestError } from './clients/types.ts';
import { apiOfPath, classifyEndpoint } from './endpoints.ts';
import { isRecord, parseJson } from './formats/http.ts';
import type { AIGatewaySettings, AIServeContext } from './gateway.ts';
import { RequestMeter } from './meter.ts';
import { estimateInputTokens } from './metering/estimate.ts';
import { modelsOfHost, renderModelList } from './models-list.ts';
import type { AIPlan } from './plan.ts';
import type { ClientAPI } from './providers/types.ts';
import { holdBudget } from './request/budget-hold.ts';
import { tryCandidates } from './request/fallback.ts';
import { guardRequest } from './request/request-guardrails.ts';
import { type Prepared, RequestState } from './request/state.ts';
import { sendBody } from './request/write.ts';
import { readRequestBody } from './request-body.ts';
import { AttemptTimeoutError } from './upstream-call.ts';

export class AIRequest {
  readonly #rs: RequestState;

  constructor(gateway: AIGatewaySettings, context: AIServeContext) {
    this.#rs = new RequestState(gateway, context);
  }

  async run(): Promise<void> {
    const rs = this.#rs;
    const exchange = rs.exchange;
    const { req } = exchange;
    const endpoint = classifyEndpoint(exchange.method, exchange.path, req.headers);
    exchange.errorShape = endpoint?.api ?? apiOfPath(exchange.path);
    if (!endpoint) {
      exchange.fail('TG_ERR_AI_ENDPOINT_NOT_FOUND', { method: exchange.method, path: exchange.path });
      return;
    }
    if (endpoint.kind === 'models') {
      this.#listModels(endpoint.api);
      return;
    }
    exchange.onClientClosed = () => {
      rs.clientGone = true;
    };
    const read = await readRequestBody(req, rs.gateway.maxRequestBodyBytes);
    if (!read.ok) {
      if (read.reason === 'too-large')
        exchange.fail('TG_ERR_AI_BODY_TOO_LARGE', { limit: rs.gateway.maxRequestBodyBytes });
      return;
    }
    const text = read.body.toString('utf8');
    const json = parseJson(text);
    if (json === undefined) return this.#invalid('the body is not valid JSON');
    if (!isRecord(json)) return this.#invalid('the body must be a JSON object');
    const model = json.model;
    if (typeof model !== 'string' || model === '') return this.#invalid('model: a model name is required');

    const match = rs.context.rematch(model);
    if (!match) {
      exchange.fail('TG_ERR_AI_MODEL_NOT_FOUND', { model, models: this.#modelsPath() });
      return;
    }
    if (rs.context.admit && !rs.context.admit(match, model)) return;
    const plan = match.entry.data;
    exchange.route = plan.id;
    exchange.routeMetrics = plan.metrics;
    if (!plan.ai) {
      rs.context.serveEntry(match, read.body);
      return;
    }
    exchange.bytesIn += read.body.length;
    const client = endpoint.api === 'openai' ? openAIClient : anthropicClient;
    const prepared: Prepared = {
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
    if (prepared.guardrails && !guardRequest(rs, prepared)) return;
    // OpenAI bodies are checked here (they may pass through untranslated); Anthropic ones when translated.
    if (endpoint.api === 'openai') {
      try {
        rs.unified = endpoint.operation === 'chat' ? decodeOpenAIChat(json) : decodeOpenAIEmbeddings(json);
      } catch (error) {
        if (error instanceof ClientRequestError) return this.#invalid(error.message);
        throw error;
      }
    }
    await this.#serve(prepared);
  }

  /** Last resort for a bug: answer 500 rather than leave the client hanging. */
  internalError(error: Error): void {
    const { meter, exchange } = this.#rs;
    meter?.failed('internal');
    if (meter) exchange.ai = meter.record;
    exchange.fail('TG_ERR_INTERNAL', { reason: error.message });
  }

  async #serve(p: Prepared): Promise<void> {
    const rs = this.#rs;
    const exchange = rs.exchange;
    const { operation, api } = p.endpoint;
    const meter = new RequestMeter({
      metrics: rs.gateway.metrics,
      route: p.plan.id,
      api,
      operation,
      stream: p.stream,
      requestModel: p.model,
      startedAt: rs.startedAt,
      estimateInput: () => estimateInputTokens(p.json),
    });
    rs.meter = meter;
    exchange.onClientClosed = () => rs.onClientGone();
    if (rs.clientGone) return rs.onClientGone();

    const gateway = rs.gateway;
    const found = p.plan.ai.candidates(p.model, operation, {
      load: gateway.load,
      available: (b) =>
        gateway.cooldowns.remaining(b.provider.id) === 0 &&
        gateway.limits.available(b.provider.id, b.provider.limits) &&
        gateway.health.healthy(b.provider.id),
    });
    if (!found.ok) {
      meter.failed(found.reason);
      exchange.ai = meter.record;
      if (found.reason === 'model-not-found')
        exchange.fail('TG_ERR_AI_MODEL_NOT_FOUND', { model: p.model, models: this.#modelsPath() });
      else exchange.fail('TG_ERR_AI_OPERATION_UNSUPPORTED', { model: p.model, operation });
      return;
    }
    if (!(await holdBudget(rs, p, found.candidates))) return;

    // The route's request timeout bounds the whole exchange: every attempt, and the stream.
    const requestMs = p.plan.ir.timeouts.requestMs ?? 0;
    const deadline =
      requestMs > 0
        ? setTimeout(() => {
            rs.deadline = new AttemptTimeoutError(requestMs);
            rs.abortAttempt?.(rs.deadline);
          }, requestMs)
        : undefined;
    try {
      await tryCandidates(rs, p, found.candidates);
    } finally {
      clearTimeout(deadline);
      rs.budget?.settle(spentOf(meter.record));
    }
  }

  #invalid(reason: string): void {
    this.#rs.exchange.fail('TG_ERR_AI_INVALID_REQUEST', { reason });
  }

  #listModels(api: ClientAPI): void {
    const exchange = this.#rs.exchange;
    const body = renderModelList(api, modelsOfHost(this.#rs.context.match.vhost));
    sendBody(
      exchange,
      200,
      {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        'x-request-id': exchange.requestId,
      },
      body,
    );
  }

  #modelsPath(): string {
    const path = this.#rs.exchange.path;
    const at = path.lastIndexOf('/');
    return `${at > 0 ? path.slice(0, at) : ''}/models`.replace(/\/chat\/models$/, '/models');
  }
}
