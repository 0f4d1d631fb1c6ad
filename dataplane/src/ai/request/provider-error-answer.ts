// Turns the provider failure that ended a request into the client's answer: gateway error codes
// for failures of the provider (auth, rate limit, overload, timeout, connect, server), and the
// provider's own status and words when it refused the request itself. Credentials it quoted are
// redacted first.
import type { ErrorCode, ErrorParams } from '../../errors.ts';
import type { Candidate } from '../plan.ts';
import { PROVIDER_REJECTED, rejectionBody, rejectionStatus } from '../provider-rejection.ts';
import type { ProviderError } from '../providers/types.ts';
import { attemptTimeoutMs } from './attempt.ts';
import type { Prepared, RequestState } from './state.ts';
import { sendBody } from './write.ts';

export function answerProviderError(
  rs: RequestState,
  p: Prepared,
  candidate: Candidate,
  error: ProviderError,
): void {
  const exchange = rs.exchange;
  const meter = rs.meter!;
  const { provider } = candidate.backend;
  meter.candidate = candidate;
  const reason = redact(error.message, provider.ir.credentials);
  meter.failed(error.kind, reason);
  exchange.ai = meter.record;
  const common = { provider: provider.name, model: p.model, reason };
  const retryHeader =
    error.retryAfterMs !== undefined
      ? { 'retry-after': String(Math.max(1, Math.ceil(error.retryAfterMs / 1000))) }
      : undefined;
  const timeoutMs = attemptTimeoutMs(p, provider);
  const answers: Partial<Record<ProviderError['kind'], [ErrorCode, ErrorParams, Record<string, string>?]>> = {
    // Status 0: the gateway could not obtain credentials to send (a refused token exchange).
    authentication: ['TG_ERR_AI_PROVIDER_AUTH', { providerStatus: error.status || 'not sent' }],
    permission: ['TG_ERR_AI_PROVIDER_AUTH', { providerStatus: error.status || 'not sent' }],
    rate_limit: [
      'TG_ERR_AI_RATE_LIMITED',
      { seconds: retryHeader?.['retry-after'] ?? '1' },
      retryHeader ?? { 'retry-after': '1' },
    ],
    overloaded: ['TG_ERR_AI_PROVIDER_OVERLOADED', {}, retryHeader],
    timeout: ['TG_ERR_UPSTREAM_TIMEOUT', { upstream: provider.name, timeoutMs }],
    connect: ['TG_ERR_UPSTREAM_CONNECT', { upstream: provider.name }],
    server: ['TG_ERR_AI_PROVIDER_ERROR', {}],
  };
  const answer = answers[error.kind];
  if (answer) {
    const [code, params, headers] = answer;
    exchange.fail(code, { ...common, ...params }, headers);
    return;
  }
  // The provider refused the request itself: keep its status (400, 404, 413, 422, …), code and words.
  const status = rejectionStatus(error);
  const body = rejectionBody(
    p.endpoint.api,
    error,
    `provider ${provider.name} rejected the request: ${reason}`,
  );
  exchange.errorCode = PROVIDER_REJECTED;
  const { res } = exchange;
  if (res.headersSent || res.destroyed) return;
  const headers: Record<string, string | number> = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'x-tollgate-error-code': PROVIDER_REJECTED,
    'x-request-id': exchange.requestId,
  };
  sendBody(exchange, status, headers, body);
}

/** Provider messages sometimes quote the credential they refused; it never reaches the client. */
function redact(message: string, credentials: Readonly<Record<string, string>>): string {
  let out = message;
  for (const value of Object.values(credentials)) {
    if (value.length >= 6) out = out.split(value).join('[REDACTED]');
  }
  return out;
}
