// One request on an AI route, from start to end: read it and find its route (request/prepare.ts),
// apply request guardrails, hold the budget, then run the attempt loop (request/fallback.ts) under
// the route's request timeout and settle the budget with what was spent. The stages live in
// request/*; this file only orders them and owns the request's lifetime.
import { spentOf } from './budget-spend.ts';
import { apiOfPath, classifyEndpoint } from './endpoints.ts';
import type { AIGatewaySettings, AIServeContext } from './gateway.ts';
import { RequestMeter } from './meter.ts';
import { estimateInputTokens } from './metering/estimate.ts';
import { holdBudget } from './request/budget-hold.ts';
import { tryCandidates } from './request/fallback.ts';
import { listModels, modelsPath } from './request/models.ts';
import { checkClientBody, prepare } from './request/prepare.ts';
import { guardRequest } from './request/request-guardrails.ts';
import { type Prepared, RequestState } from './request/state.ts';
import { AttemptTimeoutError } from './upstream-call.ts';

export class AIRequest {
  readonly #rs: RequestState;

  constructor(gateway: AIGatewaySettings, context: AIServeContext) {
    this.#rs = new RequestState(gateway, context);
  }

  async run(): Promise<void> {
    const rs = this.#rs;
    const exchange = rs.exchange;
    const endpoint = classifyEndpoint(exchange.method, exchange.path, exchange.req.headers);
    exchange.errorShape = endpoint?.api ?? apiOfPath(exchange.path);
    if (!endpoint) {
      exchange.fail('TG_ERR_AI_ENDPOINT_NOT_FOUND', { method: exchange.method, path: exchange.path });
      return;
    }
    if (endpoint.kind === 'models') return listModels(rs, endpoint.api);
    exchange.onClientClosed = () => {
      rs.clientGone = true;
    };
    const prepared = await prepare(rs, endpoint);
    if (!prepared) return;
    if (prepared.guardrails && !guardRequest(rs, prepared)) return;
    if (!checkClientBody(rs, prepared)) return;
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
        exchange.fail('TG_ERR_AI_MODEL_NOT_FOUND', { model: p.model, models: modelsPath(exchange) });
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
}
