// Active health checks of AI providers (AIProvider spec.healthCheck): each provider with a health
// check is probed every interval with a cheap request its adapter names (the model list where the
// API has one, with the provider's credentials). A probe succeeds when the provider answers HTTP
// below 500 in time: a 401 or 404 still proves the provider is up (a bad key shows on requests).
// `unhealthyThreshold` failures in a row take the provider out of routing, `healthyThreshold`
// successes bring it back. State outlives snapshots while the provider's settings stay the same.
// Probes use their own small connection pool, so a probe never waits behind request traffic.
import type { AIProviderIR } from '@tollgate/snapshot';
import { Agent } from 'undici';
import { z } from 'zod';
import type { ProviderAdapter, ProviderTarget, UpstreamRequest } from '../providers/types.ts';

/** The health check as the translator compiles it into the provider's options (durations in ms). */
export const ProviderHealthCheckIR = z.object({
  intervalMs: z.number().int().min(1),
  timeoutMs: z.number().int().min(1),
  unhealthyThreshold: z.number().int().min(1),
  healthyThreshold: z.number().int().min(1),
});
export type ProviderHealthCheckIR = z.infer<typeof ProviderHealthCheckIR>;

/** What the admin port shows per checked provider. */
export interface ProviderHealthStatus {
  provider: string;
  healthy: boolean;
  consecutiveFailures: number;
  consecutiveSuccesses: number;
  lastProbeAt: string | undefined;
  /** Why the last failed probe failed (status or transport error; never a credential). */
  lastFailure: string | undefined;
}

export interface CheckedProvider {
  readonly ir: AIProviderIR;
  readonly adapter: ProviderAdapter | undefined;
  readonly target: ProviderTarget;
  readonly name: string;
}

/** The provider's health check settings, or undefined when it has none (or a malformed one). */
export function healthCheckOf(ir: AIProviderIR): ProviderHealthCheckIR | undefined {
  const parsed = ProviderHealthCheckIR.safeParse(ir.options?.healthCheck);
  return parsed.success ? parsed.data : undefined;
}

/** A probe request when the adapter names none: GET the base path, unauthenticated. */
function defaultProbe(target: ProviderTarget): UpstreamRequest {
  return { method: 'GET', path: `${target.basePath}/`, headers: {}, body: undefined };
}

class Checker {
  readonly key: string;
  readonly #provider: CheckedProvider;
  readonly #config: ProviderHealthCheckIR;
  readonly #agent: Agent;
  readonly #onChange: () => void;
  #timer: NodeJS.Timeout | undefined;
  #abort: AbortController | undefined;
  #stopped = false;
  healthy = true;
  consecutiveFailures = 0;
  consecutiveSuccesses = 0;
  lastProbeAt: Date | undefined;
  lastFailure: string | undefined;

  constructor(
    key: string,
    provider: CheckedProvider,
    config: ProviderHealthCheckIR,
    agent: Agent,
    onChange: () => void,
  ) {
    this.key = key;
    this.#provider = provider;
    this.#config = config;
    this.#agent = agent;
    this.#onChange = onChange;
    // The first probe goes out at once: a provider down at start-up is known within one timeout.
    this.#schedule(0);
  }

  get name(): string {
    return this.#provider.name;
  }

  get provider(): CheckedProvider {
    return this.#provider;
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#abort?.abort();
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#probe().finally(() => this.#schedule(this.#config.intervalMs));
    }, delayMs);
    this.#timer.unref();
  }

  async #probe(): Promise<void> {
    const failure = await this.#attempt();
    if (this.#stopped) return;
    this.lastProbeAt = new Date();
    if (failure === undefined) {
      this.consecutiveFailures = 0;
      this.consecutiveSuccesses++;
      if (!this.healthy && this.consecutiveSuccesses >= this.#config.healthyThreshold) this.#set(true);
    } else {
      this.lastFailure = failure;
      this.consecutiveSuccesses = 0;
      this.consecutiveFailures++;
      if (this.healthy && this.consecutiveFailures >= this.#config.unhealthyThreshold) this.#set(false);
    }
  }

  #set(healthy: boolean): void {
    this.healthy = healthy;
    this.#onChange();
  }

  /** Undefined when the probe succeeded, else why it failed. */
  async #attempt(): Promise<string | undefined> {
    const { ir, adapter, target } = this.#provider;
    const abort = new AbortController();
    this.#abort = abort;
    const timer = setTimeout(() => abort.abort(), this.#config.timeoutMs);
    try {
      const probe = adapter?.probe ? await adapter.probe(target) : defaultProbe(target);
      const origin = new URL(ir.baseURL).origin;
      const response = await this.#agent.request({
        origin,
        method: probe.method,
        path: probe.path,
        headers: probe.headers,
        body: probe.body ?? null,
        signal: abort.signal,
      });
      await response.body.dump();
      return response.statusCode < 500 ? undefined : `status ${response.statusCode}`;
    } catch (error) {
      if (abort.signal.aborted) return `no answer within ${this.#config.timeoutMs} ms`;
      const code = (error as { code?: string }).code;
      return code ?? (error as Error).name;
    } finally {
      clearTimeout(timer);
      this.#abort = undefined;
    }
  }
}

/** Told each checked provider's state when it is first checked, when it changes, and when it goes (undefined). */
export type HealthListener = (provider: CheckedProvider, healthy: boolean | undefined) => void;

export class ProviderHealth {
  readonly #checkers = new Map<string, Checker>();
  readonly #agent = new Agent({ connections: 2, keepAliveTimeout: 10_000 });
  readonly #listener: HealthListener | undefined;
  /** Bumped when any provider's health changes. */
  #version = 0;

  constructor(listener?: HealthListener) {
    this.#listener = listener;
  }

  /**
   * Starts, keeps or stops checkers for the providers of a new snapshot. A provider whose
   * address, credentials or health-check settings changed starts over (healthy until proven not).
   */
  sync(providers: Iterable<CheckedProvider>): void {
    const wanted = new Set<string>();
    for (const provider of providers) {
      const config = healthCheckOf(provider.ir);
      if (!config) continue;
      wanted.add(provider.ir.id);
      const key = JSON.stringify([
        provider.ir.type,
        provider.ir.baseURL,
        provider.ir.credentials,
        provider.ir.options,
        config,
      ]);
      const existing = this.#checkers.get(provider.ir.id);
      if (existing?.key === key) continue;
      existing?.stop();
      const checker: Checker = new Checker(key, provider, config, this.#agent, () => {
        this.#version++;
        this.#listener?.(provider, checker.healthy);
      });
      this.#checkers.set(provider.ir.id, checker);
      this.#listener?.(provider, true);
    }
    for (const [id, checker] of this.#checkers) {
      if (wanted.has(id)) continue;
      checker.stop();
      this.#checkers.delete(id);
      this.#listener?.(checker.provider, undefined);
    }
  }

  /** False only for a checked provider past its unhealthy threshold. */
  healthy(providerId: string): boolean {
    return this.#checkers.get(providerId)?.healthy ?? true;
  }

  get version(): number {
    return this.#version;
  }

  status(): ProviderHealthStatus[] {
    return [...this.#checkers.values()]
      .map((c) => ({
        provider: c.name,
        healthy: c.healthy,
        consecutiveFailures: c.consecutiveFailures,
        consecutiveSuccesses: c.consecutiveSuccesses,
        lastProbeAt: c.lastProbeAt?.toISOString(),
        lastFailure: c.lastFailure,
      }))
      .sort((a, b) => a.provider.localeCompare(b.provider));
  }

  async close(): Promise<void> {
    for (const checker of this.#checkers.values()) checker.stop();
    this.#checkers.clear();
    await this.#agent.destroy().catch(() => {});
  }
}
