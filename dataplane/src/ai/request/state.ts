// What the stages of one AI request share: the parsed request (Prepared) and the mutable facts
// that outlive a single stage — the meter, the budget hold, the attempt in flight (its abort, span
// and first-byte hook) and whether the client left. One object, so each stage is a small function
// over it instead of a method of one large class.
import { performance } from 'node:perf_hooks';
import type { AIAttemptResult, AttemptSpan } from '../../observability/index.ts';
import {
  type GuardrailRecorder,
  type Guardrails,
  guardrailRecorder,
} from '../../policies/guardrails/index.ts';
import type { BudgetHold } from '../../policies/index.ts';
import type { Exchange } from '../../proxy/exchange.ts';
import type { RoutePlan } from '../../proxy/route-plan.ts';
import type { ChatClientCodec } from '../clients/types.ts';
import type { AIEndpoint } from '../endpoints.ts';
import type { AIGatewaySettings, AIServeContext } from '../gateway.ts';
import type { RequestMeter } from '../meter.ts';
import type { AIPlan } from '../plan.ts';
import type { StreamState } from '../providers/types.ts';
import type { ChatRequest, EmbeddingsRequest } from '../unified.ts';
import type { AttemptTimeoutError } from '../upstream-call.ts';

/** The request as read once: body, model and what the client asked for. */
export interface Prepared {
  endpoint: Extract<AIEndpoint, { kind: 'operation' }>;
  plan: RoutePlan & { ai: AIPlan };
  text: string;
  json: Record<string, unknown>;
  model: string;
  stream: boolean;
  client: ChatClientCodec;
  wantsUsage: boolean;
  /** The caller's guardrails (Policy guardrails); undefined ⇒ none apply. */
  guardrails: Guardrails | undefined;
}

export class RequestState {
  readonly gateway: AIGatewaySettings;
  readonly context: AIServeContext;
  readonly startedAt = performance.now();
  meter: RequestMeter | undefined;
  unified: ChatRequest | EmbeddingsRequest | undefined;
  /** The stream being relayed, for metering a client that leaves mid-stream. */
  streamState: StreamState | undefined;
  clientGone = false;
  /** Set when the route's request timeout passed; aborts the attempt in flight through abortAttempt. */
  deadline: AttemptTimeoutError | undefined;
  abortAttempt: ((reason: Error) => void) | undefined;
  /** The budgets reservation, settled once the request is over. */
  budget: BudgetHold | undefined;
  /** Records the attempt's time to first byte with the balancer's latency figures. */
  firstByte: (() => void) | undefined;
  /** The CLIENT span of the attempt in flight (tracing on only) and what its response said. */
  attemptSpan: AttemptSpan | undefined;
  attemptFacts: AIAttemptResult | undefined;

  /** Guardrail decisions: counted, named on the access-log line, logged when `action: log`. */
  readonly recordGuardrail: GuardrailRecorder;

  constructor(gateway: AIGatewaySettings, context: AIServeContext) {
    this.gateway = gateway;
    this.context = context;
    this.recordGuardrail = guardrailRecorder({
      count: (labels) => gateway.metrics.guardrailDecisions.inc(labels),
      logger: gateway.logger,
      subject: context.exchange,
    });
  }

  get exchange(): Exchange {
    return this.context.exchange;
  }

  /** The client left: meter what was generated so far, once, before the access log is written. */
  onClientGone(): void {
    this.clientGone = true;
    const meter = this.meter;
    if (!meter || meter.done) return;
    const state = this.streamState;
    if (state) meter.served(state.usage, state.finished, () => state.generatedText(), 'client_closed');
    else if (meter.candidate) meter.served(undefined, false, () => '', 'client_closed');
    else meter.failed('client_closed');
    this.exchange.ai = meter.record;
  }
}
