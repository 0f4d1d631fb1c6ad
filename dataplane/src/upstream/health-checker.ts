// Active HTTP health checks: each endpoint is probed with GET <path> every interval (plus random
// jitter, so many data planes do not probe in lockstep); `unhealthyThreshold` failed probes in a
// row take it out of rotation, `healthyThreshold` good ones bring it back. Probes use a
// connection of their own per endpoint, never the traffic pool: under load a probe queued behind
// requests would time out and take a busy but healthy endpoint out.
import type { HealthCheckIR } from '@tollgate/snapshot';
import { Client } from 'undici';
import type { EndpointState } from './endpoint-state.ts';

export interface ProbeTarget {
  readonly state: EndpointState;
  /** "http(s)://host:port" of the endpoint. */
  readonly origin: string;
  /** TLS server name, when it differs from the host. */
  readonly servername?: string | undefined;
}

export class HealthChecker {
  readonly #config: HealthCheckIR;
  readonly #host: string | undefined;
  readonly #onChange: (state: EndpointState) => void;
  readonly #clients = new Map<EndpointState, Client>();
  readonly #timers = new Map<EndpointState, NodeJS.Timeout>();
  readonly #aborts = new Set<AbortController>();
  #stopped = false;

  constructor(
    config: HealthCheckIR,
    authority: string | undefined,
    targets: readonly ProbeTarget[],
    onChange: (state: EndpointState) => void,
  ) {
    this.#config = config;
    this.#host = authority;
    this.#onChange = onChange;
    for (const { state, origin, servername } of targets) {
      this.#clients.set(
        state,
        new Client(origin, {
          pipelining: 1,
          // Keep the probe connection open from one probe to the next.
          keepAliveTimeout: config.intervalMs + config.jitterMs + 1_000,
          keepAliveMaxTimeout: config.intervalMs + config.jitterMs + 1_000,
          connect: { timeout: config.timeoutMs, ...(servername ? { servername } : {}) },
        }),
      );
    }
    // The first probe of each endpoint comes soon (after the jitter only), not a full interval later.
    for (const target of targets) this.#schedule(target.state, this.#jitter());
  }

  stop(): void {
    this.#stopped = true;
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    for (const abort of this.#aborts) abort.abort();
    for (const client of this.#clients.values()) client.destroy().catch(() => {});
    this.#clients.clear();
  }

  #jitter(): number {
    return this.#config.jitterMs > 0 ? Math.floor(Math.random() * this.#config.jitterMs) : 0;
  }

  #schedule(state: EndpointState, delayMs: number): void {
    if (this.#stopped) return;
    const timer = setTimeout(() => {
      this.#probe(state).then(
        () => this.#schedule(state, this.#config.intervalMs + this.#jitter()),
        () => this.#schedule(state, this.#config.intervalMs + this.#jitter()),
      );
    }, delayMs);
    timer.unref();
    this.#timers.set(state, timer);
  }

  async #probe(state: EndpointState): Promise<void> {
    const client = this.#clients.get(state);
    if (!client) return;
    const abort = new AbortController();
    this.#aborts.add(abort);
    const timer = setTimeout(() => abort.abort(new Error('health check timed out')), this.#config.timeoutMs);
    let ok = false;
    try {
      const response = await client.request({
        path: this.#config.path,
        method: 'GET',
        headers: { host: this.#host ?? state.address, 'user-agent': 'tollgate-health-check' },
        signal: abort.signal,
        headersTimeout: this.#config.timeoutMs,
        bodyTimeout: this.#config.timeoutMs,
      });
      await response.body.dump();
      const expected = this.#config.expectedStatuses;
      ok =
        expected.length > 0
          ? expected.includes(response.statusCode)
          : response.statusCode >= 200 && response.statusCode < 300;
    } catch {
      ok = false;
    } finally {
      clearTimeout(timer);
      this.#aborts.delete(abort);
    }
    if (this.#stopped) return;
    this.#record(state, ok);
  }

  #record(state: EndpointState, ok: boolean): void {
    if (ok) {
      state.probeFailures = 0;
      state.probeSuccesses++;
      if (!state.activeHealthy && state.probeSuccesses >= this.#config.healthyThreshold) {
        state.activeHealthy = true;
        // A host back from the dead starts with a clean passive record.
        if (state.circuit === 'open') state.circuit = 'half-open';
        this.#onChange(state);
      }
      return;
    }
    state.probeSuccesses = 0;
    state.probeFailures++;
    if (state.activeHealthy && state.probeFailures >= this.#config.unhealthyThreshold) {
      state.activeHealthy = false;
      this.#onChange(state);
    }
  }
}
