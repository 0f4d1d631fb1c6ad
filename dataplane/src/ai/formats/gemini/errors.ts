// Google's error body `{"error":{"code","message","status","details"}}` → ProviderError. A 429 may
// carry its retry hint as a RetryInfo detail ("retryDelay": "7s") instead of a Retry-After header.
import type { ProviderError } from '../../providers/types.ts';
import { isRecord, kindOfStatus, MAX_RETRY_AFTER_MS, parseJson, retryAfterMs } from '../http.ts';

type Headers = Readonly<Record<string, string | string[] | undefined>>;

export function parseGeminiError(status: number, headers: Headers, body: string): ProviderError {
  const json = parseJson(body);
  // Some Google front ends answer a one-element array of error objects.
  const root = Array.isArray(json) ? json[0] : json;
  const error = isRecord(root) && isRecord(root.error) ? root.error : undefined;
  const message =
    typeof error?.message === 'string' && error.message
      ? error.message
      : body.trim().slice(0, 500) || `status ${status}`;
  const out: ProviderError = { status, kind: kindOfStatus(status), message };
  if (typeof error?.status === 'string') out.providerCode = error.status;
  const retry = retryAfterMs(headers) ?? retryDelayOf(error?.details);
  if (retry !== undefined) out.retryAfterMs = retry;
  return out;
}

function retryDelayOf(details: unknown): number | undefined {
  if (!Array.isArray(details)) return undefined;
  for (const detail of details) {
    if (!isRecord(detail) || typeof detail.retryDelay !== 'string') continue;
    const match = /^(\d+(?:\.\d+)?)s$/.exec(detail.retryDelay);
    if (match) return Math.min(Math.round(Number(match[1]) * 1000), MAX_RETRY_AFTER_MS);
  }
  return undefined;
}

/** An `{"error": …}` object sent as a stream event. */
export function geminiStreamError(error: Record<string, unknown>): ProviderError {
  const status = typeof error.code === 'number' ? error.code : 500;
  const out: ProviderError = {
    status,
    kind: kindOfStatus(status),
    message: typeof error.message === 'string' ? error.message : 'the provider reported an error mid-stream',
  };
  if (typeof error.status === 'string') out.providerCode = error.status;
  return out;
}
