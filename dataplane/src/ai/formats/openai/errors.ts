// OpenAI's error body `{"error":{"message","type","param","code"}}` → ProviderError.
import type { ProviderError } from '../../providers/types.ts';
import { isRecord, kindOfStatus, parseJson, retryAfterMs } from '../http.ts';

type Headers = Readonly<Record<string, string | string[] | undefined>>;

export function parseOpenAIError(status: number, headers: Headers, body: string): ProviderError {
  const json = parseJson(body);
  const error = isRecord(json) && isRecord(json.error) ? json.error : isRecord(json) ? json : undefined;
  const message =
    typeof error?.message === 'string' && error.message
      ? error.message
      : body.trim().slice(0, 500) || `status ${status}`;
  const code =
    typeof error?.code === 'string' ? error.code : typeof error?.type === 'string' ? error.type : undefined;
  const out: ProviderError = { status, kind: kindOfStatus(status), message };
  if (code) out.providerCode = code;
  if (typeof error?.type === 'string' && error.type) out.providerType = error.type;
  if (typeof error?.param === 'string' && error.param) out.param = error.param;
  const retry = retryAfterMs(headers);
  if (retry !== undefined) out.retryAfterMs = retry;
  return out;
}

/** An `{"error": …}` object met inside a stream. */
export function openAIStreamError(error: Record<string, unknown>): ProviderError {
  const status = typeof error.code === 'number' ? error.code : 500;
  const out: ProviderError = {
    status,
    kind: kindOfStatus(status),
    message: typeof error.message === 'string' ? error.message : 'the provider reported an error mid-stream',
  };
  const code =
    typeof error.type === 'string' ? error.type : typeof error.code === 'string' ? error.code : undefined;
  if (code) out.providerCode = code;
  return out;
}
