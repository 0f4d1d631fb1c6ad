// What this data-plane process knows about each upstream endpoint: requests in flight, a peak-EWMA
// latency, active health-check results and its passive circuit (closed / open / half-open).
// Kept per process across snapshot swaps (keyed by cluster id and address), so a config change
// does not forget that an endpoint is down.
import { performance } from 'node:perf_hooks';
import type { OutlierDetectionIR } from '@tollgate/snapshot';

/** How fast old latency samples fade: after this long a sample weighs 1/e of a fresh one. */
const LATENCY_DECAY_MS = 10_000;

export type CircuitState = 'closed' | 'open' | 'half-open';

export class EndpointState {
  readonly address: string;
  inFlight = 0;
  /** Peak EWMA of time to response headers, ms; 0 until measured. */
  latencyMs = 0;
  #latencyAt = 0;
  /** Active health checks: healthy until the unhealthy threshold of failed probes. */
  activeHealthy = true;
  probeSuccesses = 0;
  probeFailures = 0;
  circuit: CircuitState = 'closed';
  consecutiveErrors = 0;
  ejections = 0;
  ejectedUntil = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(address: string) {
    this.address = address;
  }

  get available(): boolean {
    return this.activeHealthy && this.circuit !== 'open';
  }

  recordLatency(ms: number, now = performance.now()): void {
    if (this.latencyMs === 0 || ms > this.latencyMs) {
      this.latencyMs = ms;
    } else {
      const weight = Math.exp(-(now - this.#latencyAt) / LATENCY_DECAY_MS);
      this.latencyMs = this.latencyMs * weight + ms * (1 - weight);
    }
    this.#latencyAt = now;
  }

  /** Opens the circuit for a back-off growing with each ejection; `onChange` runs when it half-opens. */
  eject(outlier: OutlierDetectionIR, onChange: () => void, now = performance.now()): void {
    this.ejections++;
    const ms = Math.min(outlier.baseEjectionMs * this.ejections, outlier.maxEjectionMs);
    this.circuit = 'open';
    this.ejectedUntil = now + ms;
    this.consecutiveErrors = 0;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.circuit = 'half-open';
      onChange();
    }, ms);
    this.#timer.unref();
  }

  stop(): void {
    clearTimeout(this.#timer);
  }
}
