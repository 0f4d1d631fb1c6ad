// Bedrock errors: the JSON body `{"message"}` with the exception name in the x-amzn-errortype
// header (or `__type`), and the same exceptions as `:message-type: exception` stream frames.
import { first, isRecord, kindOfStatus, parseJson, retryAfterMs } from '../../formats/http.ts';
import type { ProviderError, ProviderErrorKind } from '../types.ts';

type Headers = Readonly<Record<string, string | string[] | undefined>>;

const EXCEPTIONS: Record<string, { status: number; kind: ProviderErrorKind }> = {
  ThrottlingException: { status: 429, kind: 'rate_limit' },
  ServiceQuotaExceededException: { status: 429, kind: 'rate_limit' },
  ValidationException: { status: 400, kind: 'invalid_request' },
  AccessDeniedException: { status: 403, kind: 'permission' },
  UnrecognizedClientException: { status: 403, kind: 'authentication' },
  InvalidSignatureException: { status: 403, kind: 'authentication' },
  ResourceNotFoundException: { status: 404, kind: 'not_found' },
  ModelTimeoutException: { status: 408, kind: 'timeout' },
  ModelNotReadyException: { status: 503, kind: 'overloaded' },
  ServiceUnavailableException: { status: 503, kind: 'overloaded' },
  ModelErrorException: { status: 500, kind: 'server' },
  ModelStreamErrorException: { status: 500, kind: 'server' },
  InternalServerException: { status: 500, kind: 'server' },
};

/** "com.amazon.coral.service#ThrottlingException:http://…" → "ThrottlingException". */
function exceptionName(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  const name = raw.split(':')[0]!.split('#').at(-1)!;
  return name ? name[0]!.toUpperCase() + name.slice(1) : undefined;
}

export function parseBedrockError(status: number, headers: Headers, body: string): ProviderError {
  const json = parseJson(body);
  const record = isRecord(json) ? json : {};
  const name = exceptionName(first(headers['x-amzn-errortype']) ?? (record.__type as string | undefined));
  const rawMessage = record.message ?? record.Message;
  const message =
    typeof rawMessage === 'string' && rawMessage
      ? rawMessage
      : body.trim().slice(0, 500) || `status ${status}`;
  const known = name ? EXCEPTIONS[name] : undefined;
  const out: ProviderError = { status, kind: known?.kind ?? kindOfStatus(status), message };
  if (name) out.providerCode = name;
  const retry = retryAfterMs(headers);
  if (retry !== undefined) out.retryAfterMs = retry;
  return out;
}

/** An exception frame of ConverseStream (`:exception-type` header, `{"message"}` payload). */
export function bedrockStreamError(exceptionType: string | undefined, payload: unknown): ProviderError {
  const name = exceptionName(exceptionType) ?? 'InternalServerException';
  const known = EXCEPTIONS[name] ?? { status: 500, kind: 'server' as const };
  const message =
    isRecord(payload) && typeof payload.message === 'string'
      ? payload.message
      : 'the provider reported an error mid-stream';
  return { status: known.status, kind: known.kind, message, providerCode: name };
}
