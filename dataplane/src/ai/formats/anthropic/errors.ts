// Anthropic's error body `{"type":"error","error":{"type","message"}}` → ProviderError, and back.
import type { ProviderError, ProviderErrorKind } from '../../providers/types.ts';
import { isRecord, kindOfStatus, parseJson, retryAfterMs } from '../http.ts';

type Headers = Readonly<Record<string, string | string[] | undefined>>;

const KIND_OF_TYPE: Record<string, ProviderErrorKind> = {
  invalid_request_error: 'invalid_request',
  authentication_error: 'authentication',
  permission_error: 'permission',
  not_found_error: 'not_found',
  request_too_large: 'request_too_large',
  rate_limit_error: 'rate_limit',
  api_error: 'server',
  overloaded_error: 'overloaded',
  timeout_error: 'timeout',
};

export function parseAnthropicError(status: number, headers: Headers, body: string): ProviderError {
  const json = parseJson(body);
  const error = isRecord(json) && isRecord(json.error) ? json.error : undefined;
  const type = typeof error?.type === 'string' ? error.type : undefined;
  const message =
    typeof error?.message === 'string' && error.message
      ? error.message
      : body.trim().slice(0, 500) || `status ${status}`;
  const out: ProviderError = { status, kind: kindOfStatus(status), message };
  if (type) {
    out.providerCode = type;
    out.providerType = type;
  }
  const retry = retryAfterMs(headers);
  if (retry !== undefined) out.retryAfterMs = retry;
  return out;
}

/** The `error` event of a stream (`{"type":"error","error":{…}}`). */
export function anthropicStreamError(json: unknown): ProviderError {
  const error = isRecord(json) && isRecord(json.error) ? json.error : {};
  const type = typeof error.type === 'string' ? error.type : 'api_error';
  const kind = KIND_OF_TYPE[type] ?? 'server';
  const status =
    kind === 'overloaded' ? 529 : kind === 'rate_limit' ? 429 : kind === 'invalid_request' ? 400 : 500;
  return {
    status,
    kind,
    message: typeof error.message === 'string' ? error.message : 'the provider reported an error mid-stream',
    providerCode: type,
  };
}

/** Anthropic's error type for an HTTP status, for errors the gateway answers in Anthropic's shape. */
export function anthropicErrorType(status: number): string {
  if (status === 400 || status === 422) return 'invalid_request_error';
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 413) return 'request_too_large';
  if (status === 429) return 'rate_limit_error';
  if (status === 503 || status === 529) return 'overloaded_error';
  if (status === 504) return 'timeout_error';
  if (status < 500) return 'invalid_request_error';
  return 'api_error';
}
