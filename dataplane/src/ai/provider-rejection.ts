// A provider's refusal of the request itself (400 context too long, 404 unknown model, 422, …)
// reaches the caller in the caller's API shape with the provider's own words: its status, its
// error code (OpenAI `code`, e.g. "context_length_exceeded") and type, and the field it blamed, so
// SDK code that branches on them works the same through the gateway. The gateway's own code stays
// in the x-tollgate-error-code header.
import { anthropicErrorType } from './formats/anthropic/errors.ts';
import type { ClientAPI, ProviderError } from './providers/types.ts';

export const PROVIDER_REJECTED = 'TG_ERR_AI_PROVIDER_REJECTED';

/** The status the caller gets: the provider's own 4xx, else 400. */
export function rejectionStatus(error: ProviderError): number {
  return error.status >= 400 && error.status < 500 ? error.status : 400;
}

/** The error body, `message` already redacted of credentials. */
export function rejectionBody(api: ClientAPI, error: ProviderError, message: string): string {
  const status = rejectionStatus(error);
  // Anthropic's error types follow its statuses one to one (an Anthropic provider's own type included).
  if (api === 'anthropic') {
    return JSON.stringify({ type: 'error', error: { type: anthropicErrorType(status), message } });
  }
  return JSON.stringify({
    error: {
      message,
      type: error.providerType ?? openAIErrorType(status),
      param: error.param ?? null,
      code: error.providerCode ?? PROVIDER_REJECTED,
    },
  });
}

function openAIErrorType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  return 'invalid_request_error';
}
