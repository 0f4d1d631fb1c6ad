// The attempt loop: tries the route's candidates in order (priority, weight), passing over the
// unhealthy, the cooling down and those over this pod's share of their quota, and falls back on
// failures another provider may not share. Rate limits start a cool-down; when only rate limits
// stood in the way, the answer is a 429 with the soonest retry.
import { performance } from 'node:perf_hooks';
import { DEFAULT_COOLDOWN_MS } from '../cooldown.ts';
import type { Candidate } from '../plan.ts';
import type { ProviderError } from '../providers/types.ts';
import { attempt } from './attempt.ts';
import { endAttemptSpan, startAttemptSpan } from './attempt-span.ts';
import { type Attempt, isSlowFailure, outcomeOf } from './outcome.ts';
import { answerProviderError } from './provider-error-answer.ts';
import type { Prepared, RequestState } from './state.ts';

export async function tryCandidates(
  rs: RequestState,
  p: Prepared,
  candidates: readonly Candidate[],
): Promise<void> {
  const exchange = rs.exchange;
  const meter = rs.meter!;
  let last: { candidate: Candidate; error: ProviderError } | undefined;
  let onlyRateLimits = true;
  let soonestRetryMs = Number.POSITIVE_INFINITY;
  const { health, cooldowns, limits, load } = rs.gateway;
  // When every provider fails its health checks, they are all tried anyway: a probe may be
  // wrong, and trying beats refusing outright.
  const someHealthy = candidates.some((c) => health.healthy(c.backend.provider.id));
  for (const candidate of candidates) {
    const { provider } = candidate.backend;
    if (rs.deadline) break;
    if (someHealthy && !health.healthy(provider.id)) {
      meter.attempt(candidate, 'unhealthy');
      continue;
    }
    if (!provider.adapter) {
      meter.attempt(candidate, 'rejected');
      onlyRateLimits = false;
      last ??= {
        candidate,
        error: { status: 501, kind: 'invalid_request', message: `type ${provider.ir.type} unsupported` },
      };
      continue;
    }
    const cooling = cooldowns.remaining(provider.id);
    if (cooling > 0) {
      meter.attempt(candidate, 'cooling_down');
      soonestRetryMs = Math.min(soonestRetryMs, cooling);
      last ??= { candidate, error: rateLimited('cooling down after a rate limit', cooling) };
      continue;
    }
    const admission = limits.admit(provider.id, provider.limits);
    if (!admission.ok) {
      // Over this pod's share of the provider's quota: as good as a 429, without asking.
      meter.attempt(candidate, 'cooling_down');
      soonestRetryMs = Math.min(soonestRetryMs, admission.retryAfterMs);
      last ??= {
        candidate,
        error: rateLimited(`the provider's ${admission.reason} limit is reached`, admission.retryAfterMs),
      };
      continue;
    }
    meter.candidate = candidate;
    exchange.cluster = candidate.backend.cluster.id;
    const { key } = candidate.backend;
    const endLoad = load.begin(key);
    const startedAt = performance.now();
    rs.firstByte = () => {
      rs.firstByte = undefined;
      load.observe(key, performance.now() - startedAt);
    };
    const span = startAttemptSpan(rs, p, candidate);
    let outcome: Attempt | undefined;
    try {
      outcome = await attempt(rs, p, candidate);
    } finally {
      if (span) endAttemptSpan(rs, span, outcome);
      endLoad();
      const record = meter.record;
      admission.permit.release(record ? record.inputTokens + record.outputTokens : undefined);
    }
    // A failure that cost time (timeout, broken connection, bad answer) counts as a slow answer.
    if (outcome.kind === 'retry' && isSlowFailure(outcome.error)) rs.firstByte?.();
    rs.firstByte = undefined;
    if (outcome.kind === 'done' || outcome.kind === 'client-gone') return;
    if (outcome.kind === 'final') return answerProviderError(rs, p, candidate, outcome.error);
    meter.attempt(candidate, outcomeOf(outcome.error));
    last = { candidate, error: outcome.error };
    if (
      outcome.error.kind === 'rate_limit' ||
      (outcome.error.kind === 'overloaded' && outcome.error.retryAfterMs)
    ) {
      const ms = outcome.error.retryAfterMs ?? DEFAULT_COOLDOWN_MS;
      cooldowns.start(provider.id, ms);
      soonestRetryMs = Math.min(soonestRetryMs, ms);
    } else {
      onlyRateLimits = false;
    }
    if (rs.clientGone) return;
  }
  if (rs.deadline && last) {
    meter.failed('timeout');
    exchange.ai = meter.record;
    exchange.fail('TG_ERR_UPSTREAM_TIMEOUT', {
      upstream: last.candidate.backend.provider.name,
      timeoutMs: rs.deadline.timeoutMs,
    });
    return;
  }
  if (!last) return;
  if (last.candidate.backend.provider.adapter === undefined && candidates.length === 1) {
    const { provider } = last.candidate.backend;
    meter.failed('unsupported_provider');
    exchange.ai = meter.record;
    exchange.fail('TG_ERR_AI_PROVIDER_TYPE_UNSUPPORTED', { provider: provider.name, type: provider.ir.type });
    return;
  }
  if (onlyRateLimits && Number.isFinite(soonestRetryMs)) {
    last = {
      ...last,
      error: { ...last.error, kind: 'rate_limit', status: 429, retryAfterMs: soonestRetryMs },
    };
  }
  answerProviderError(rs, p, last.candidate, last.error);
}

/** A provider this pod will not ask now (cooling down, over its quota share): as good as its 429. */
function rateLimited(message: string, retryAfterMs: number): ProviderError {
  return { status: 429, kind: 'rate_limit', message, retryAfterMs };
}
