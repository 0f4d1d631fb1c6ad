// The AI gateway as the proxy sees it: state that outlives snapshots (cool-downs, limits) and the
// entry point for requests on AI routes. The work of one request is in ai-request.ts.

import type { AIProviderIR } from '@tollgate/snapshot';
import type { Logger } from '@tollgate/telemetry';
import type { AIMetrics } from '../observability/index.ts';
import type { Exchange } from '../proxy/exchange.ts';
import type { RoutePlan } from '../proxy/route-plan.ts';
import type { RouteMatch } from '../router/index.ts';
import { AIRequest } from './ai-request.ts';
import { BackendLoad, ProviderLimits } from './balancing/index.ts';
import { compileProviders } from './compiled-provider.ts';
import { CoolDowns } from './cooldown.ts';
import { classifyEndpoint } from './endpoints.ts';
import { ProviderHealth, type ProviderHealthStatus } from './health/provider-health.ts';
import { loadTokenizer, tokenizerLoaded } from './metering/estimate.ts';
import { DEFAULT_MAX_REQUEST_BODY_BYTES } from './request-body.ts';

export interface AIGatewayOptions {
  metrics: AIMetrics;
  /** Where guardrail findings with `action: log` are written. */
  logger?: Logger;
  /** Largest request body accepted on AI endpoints (413 above). Default 16 MiB. */
  maxRequestBodyBytes?: number;
  /** Largest non-streamed provider response read. Default 64 MiB. */
  maxResponseBodyBytes?: number;
}

export interface AIServeContext {
  exchange: Exchange;
  /** The entry found without the model. */
  match: RouteMatch<RoutePlan>;
  /** The entry for the requested model (model conditions checked). */
  rematch(model: string): RouteMatch<RoutePlan> | undefined;
  /** Serves a non-AI entry (a model-matched plain route) with the body already read. */
  serveEntry(match: RouteMatch<RoutePlan>, body: Buffer): void;
  /**
   * Decides, once the model is known, whether the entry found for it may serve the request
   * (model-based authorization). False ⇒ it has answered already.
   */
  admit?(match: RouteMatch<RoutePlan>, model: string): boolean;
}

export interface AIGatewaySettings {
  readonly metrics: AIMetrics;
  readonly cooldowns: CoolDowns;
  /** In-flight counts and latency per AI backend, for the balancing strategies. */
  readonly load: BackendLoad;
  /** AIProvider limits enforced by this data plane. */
  readonly limits: ProviderLimits;
  /** AIProvider health checks: unhealthy providers are passed over while others can serve. */
  readonly health: ProviderHealth;
  readonly maxRequestBodyBytes: number;
  readonly maxResponseBodyBytes: number;
  readonly logger?: Logger | undefined;
}

export class AIGateway implements AIGatewaySettings {
  readonly metrics: AIMetrics;
  readonly logger: Logger | undefined;
  readonly cooldowns = new CoolDowns();
  readonly load = new BackendLoad();
  readonly limits = new ProviderLimits();
  readonly health: ProviderHealth;
  readonly maxRequestBodyBytes: number;
  readonly maxResponseBodyBytes: number;

  constructor(options: AIGatewayOptions) {
    this.metrics = options.metrics;
    this.logger = options.logger;
    this.health = new ProviderHealth((provider, healthy) => {
      const labels = { tollgate_provider: provider.name, gen_ai_provider_name: provider.ir.type };
      if (healthy === undefined) this.metrics.providerHealthy.remove(labels);
      else this.metrics.providerHealthy.set(labels, healthy ? 1 : 0);
    });
    this.maxRequestBodyBytes = options.maxRequestBodyBytes ?? DEFAULT_MAX_REQUEST_BODY_BYTES;
    this.maxResponseBodyBytes = options.maxResponseBodyBytes ?? 64 * 1024 * 1024;
  }

  /** A new snapshot's providers (already validated): health checks start, carry on or stop to match. */
  syncProviders(providers: readonly AIProviderIR[]): void {
    this.health.sync(compileProviders(providers).values());
  }

  /** Health of the checked providers, for the admin port. */
  providerStatus(): ProviderHealthStatus[] {
    return this.health.status();
  }

  /** Stops the health checks. */
  close(): Promise<void> {
    return this.health.close();
  }

  /** Loads what metering needs (the tokenizer); requests that come while it loads wait for it. */
  prepare(): Promise<void> {
    return loadTokenizer();
  }

  /**
   * Whether the AI gateway serves this request: every request on an AI route, and requests to an
   * AI endpoint on a route that matches on the model (its model is in the body).
   */
  handles(exchange: Exchange, match: RouteMatch<RoutePlan>): boolean {
    if (match.entry.data.ai) return true;
    if (!match.entry.conditions.model) return false;
    const endpoint = classifyEndpoint(exchange.method, exchange.path, exchange.req.headers);
    return endpoint?.kind === 'operation';
  }

  serve(context: AIServeContext): void {
    const request = new AIRequest(this, context);
    const run = (): void => {
      request.run().catch((error: unknown) => request.internalError(error as Error));
    };
    // Metering counts with the tokenizer: the first requests wait for it (once, ~0.3 s); should it
    // fail to load, estimates fall back to characters / 4.
    if (tokenizerLoaded()) run();
    else loadTokenizer().then(run, run);
  }
}
