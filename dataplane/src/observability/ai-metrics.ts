// AI metrics, named after the OpenTelemetry GenAI semantic conventions (gen_ai.client.token.usage,
// gen_ai.client.operation.duration, gen_ai.server.time_to_first_token) in Prometheus form, plus the
// gateway's own cost, token and attempt counters. Labels are bounded: provider ids and model names
// come from the snapshot (a provider without a model list gets at most MAX_OPEN_MODELS names).
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

const SERIES = [
  'gen_ai_operation_name',
  'gen_ai_provider_name',
  'gen_ai_request_model',
  'tollgate_provider',
  'tollgate_route',
] as const;
type SeriesLabel = (typeof SERIES)[number];

export interface AIMetrics {
  tokenUsage: Histogram<SeriesLabel | 'gen_ai_token_type'>;
  operationDuration: Histogram<SeriesLabel | 'error_type'>;
  timeToFirstToken: Histogram<SeriesLabel>;
  timePerOutputToken: Histogram<SeriesLabel>;
  tokens: Counter<SeriesLabel | 'gen_ai_token_type' | 'estimated'>;
  cost: Counter<SeriesLabel | 'currency'>;
  attempts: Counter<'tollgate_provider' | 'gen_ai_provider_name' | 'outcome'>;
  /** 1 while an AIProvider with a health check passes it, 0 while it is out of rotation. */
  providerHealthy: Gauge<'tollgate_provider' | 'gen_ai_provider_name'>;
  /** Guardrail decisions by stage (request, response), rule kind and action (mask, block, log). */
  guardrailDecisions: Counter<'stage' | 'rule' | 'action'>;
  /** Budget decisions on routes with budgets: allowed, exceeded, unavailable (store down, fail closed). */
  budgetDecisions: Counter<'route' | 'decision'>;
}

export function createAIMetrics(registry: Registry): AIMetrics {
  return {
    tokenUsage: new Histogram({
      name: 'gen_ai_client_token_usage',
      help: 'Tokens used per request, by token type (input, output), as the provider reported them or the gateway estimated them.',
      labelNames: [...SERIES, 'gen_ai_token_type'],
      buckets: [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864],
      registers: [registry],
    }),
    operationDuration: new Histogram({
      name: 'gen_ai_client_operation_duration_seconds',
      help: 'Duration of AI operations through the gateway, from the request to the end of the response (fallbacks included).',
      labelNames: [...SERIES, 'error_type'],
      buckets: [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92],
      registers: [registry],
    }),
    timeToFirstToken: new Histogram({
      name: 'gen_ai_server_time_to_first_token_seconds',
      help: 'Time from the request to the first streamed token reaching the client.',
      labelNames: [...SERIES],
      buckets: [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10],
      registers: [registry],
    }),
    timePerOutputToken: new Histogram({
      name: 'gen_ai_server_time_per_output_token_seconds',
      help: 'Streams only: time per output token after the first, (end - first token) / (output tokens - 1).',
      labelNames: [...SERIES],
      buckets: [
        0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5,
      ],
      registers: [registry],
    }),
    tokens: new Counter({
      name: 'tollgate_ai_tokens_total',
      help: 'Tokens metered, by type (input, output, cached_input, cache_write, reasoning; the last three are parts of the first two) and whether they were estimated.',
      labelNames: [...SERIES, 'gen_ai_token_type', 'estimated'],
      registers: [registry],
    }),
    cost: new Counter({
      name: 'tollgate_ai_cost_micros_total',
      help: "Cost metered from the AIProvider's price table, in micro-units of the currency.",
      labelNames: [...SERIES, 'currency'],
      registers: [registry],
    }),
    guardrailDecisions: new Counter({
      name: 'tollgate_guardrail_decisions_total',
      help: 'Guardrail findings acted on, by stage (request, response), rule (pii_<type>, deny_pattern, prompt_injection, max_input_tokens, allowed_models) and action (mask, block, log).',
      labelNames: ['stage', 'rule', 'action'],
      registers: [registry],
    }),
    budgetDecisions: new Counter({
      name: 'tollgate_budget_decisions_total',
      help: 'Budget decisions on routes with budgets, by route and decision: allowed, exceeded (refused by an enforced budget), unavailable (the store did not answer and a budget fails closed).',
      labelNames: ['route', 'decision'],
      registers: [registry],
    }),
    attempts: new Counter({
      name: 'tollgate_ai_upstream_attempts_total',
      help: 'Attempts to providers, by outcome: success, rate_limited, overloaded, server_error, timeout, connect_error, cooling_down, unhealthy, rejected.',
      labelNames: ['tollgate_provider', 'gen_ai_provider_name', 'outcome'],
      registers: [registry],
    }),
    providerHealthy: new Gauge({
      name: 'tollgate_ai_provider_healthy',
      help: 'Whether an AIProvider with a health check takes traffic (1) or failed its probes and is passed over (0).',
      labelNames: ['tollgate_provider', 'gen_ai_provider_name'],
      registers: [registry],
    }),
  };
}

/** The shared labels of one served AI request. */
export type AISeries = Record<SeriesLabel, string>;

/** The decision label of a budget reservation: its refusal code, or none when it was granted. */
export function budgetDecisionOf(code: string | undefined): 'allowed' | 'exceeded' | 'unavailable' {
  if (code === undefined) return 'allowed';
  return code === 'TG_ERR_BUDGET_UNAVAILABLE' ? 'unavailable' : 'exceeded';
}
