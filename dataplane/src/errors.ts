// The one table of data-plane error codes. Every error the gateway answers itself goes through
// here, so the response body, the `x-tollgate-error-code` header, the access log and the metrics
// all speak the same vocabulary.

export interface ErrorDefinition {
  status: number;
  /** `{name}` placeholders are filled from the params given to `describeError`. */
  message: string;
}

export const ERRORS = {
  TG_ERR_ROUTE_NOT_FOUND: { status: 404, message: 'no route matches {method} {path} on host "{host}"' },
  TG_ERR_NOT_READY: { status: 503, message: 'the data plane has not received its configuration yet' },
  TG_ERR_NO_HEALTHY_UPSTREAM: { status: 503, message: 'no healthy upstream for route {route}' },
  TG_ERR_UPSTREAM_CONNECT: { status: 502, message: 'could not connect to upstream {upstream}: {reason}' },
  TG_ERR_UPSTREAM_RESET: { status: 502, message: 'upstream {upstream} closed the connection: {reason}' },
  /** The connection (TCP and TLS handshake) did not open within the connect timeout. */
  TG_ERR_UPSTREAM_CONNECT_TIMEOUT: {
    status: 504,
    message: 'could not connect to upstream {upstream} within {timeoutMs} ms',
  },
  TG_ERR_UPSTREAM_TIMEOUT: {
    status: 504,
    message: 'upstream {upstream} did not answer within {timeoutMs} ms',
  },
  /** Circuit breaking: the cluster is at circuitBreaker.maxRequests and its pending queue is full. */
  TG_ERR_UPSTREAM_OVERFLOW: {
    status: 503,
    message:
      'upstream {upstream} is at its limit of {limit} concurrent requests and no more may wait (circuit breaker); retry later',
  },
  TG_ERR_UPGRADE_NOT_SUPPORTED: {
    status: 501,
    message: 'protocol upgrades ({protocol}) are not supported by this gateway yet',
  },
  TG_ERR_UPGRADE_FAILED: {
    status: 502,
    message: 'the {protocol} upgrade to upstream {upstream} failed: {reason}',
  },
  /** An upgrade arriving while the data plane drains: a tunnel would outlive it. */
  TG_ERR_DRAINING: {
    status: 503,
    message: 'this gateway instance is shutting down; reconnect to reach another',
  },
  /** Edge protections (Policy cors, ipFilter, limits). */
  TG_ERR_IP_FORBIDDEN: { status: 403, message: 'client address {ip} is not allowed on this route' },
  TG_ERR_CORS_FORBIDDEN: {
    status: 403,
    message: 'cross-origin request from "{origin}" refused: {reason}',
  },
  TG_ERR_REQUEST_BODY_TOO_LARGE: {
    status: 413,
    message: 'the request body is larger than the {limit} bytes this route accepts',
  },
  TG_ERR_REQUEST_HEADERS_TOO_LARGE: {
    status: 431,
    message: 'the request headers are too large: {reason}',
  },
  /** Sent by direct responses the translator compiles for rules whose backends did not resolve. */
  TG_ERR_BACKEND_NOT_RESOLVED: {
    status: 500,
    message: "no backend of this route resolved; the Route's ResolvedRefs condition says why",
  },
  TG_ERR_BAD_REQUEST: { status: 400, message: 'malformed request: {reason}' },
  /** AI endpoints: the body is not JSON or not a valid request of the endpoint's API. */
  TG_ERR_AI_INVALID_REQUEST: { status: 400, message: 'invalid request: {reason}' },
  TG_ERR_AI_BODY_TOO_LARGE: {
    status: 413,
    message: 'the request body is larger than the {limit} bytes this gateway accepts on AI endpoints',
  },
  TG_ERR_AI_MODEL_NOT_FOUND: {
    status: 404,
    message: 'the model "{model}" is not served by this gateway (GET {models} lists the models you can use)',
  },
  TG_ERR_AI_ENDPOINT_NOT_FOUND: {
    status: 404,
    message:
      '{method} {path} is not an AI API endpoint of this gateway; AI routes serve POST …/chat/completions, POST …/embeddings, POST …/messages and GET …/models',
  },
  TG_ERR_AI_OPERATION_UNSUPPORTED: {
    status: 400,
    message: 'no provider of the model "{model}" supports {operation}',
  },
  TG_ERR_AI_PROVIDER_TYPE_UNSUPPORTED: {
    status: 501,
    message: 'provider {provider} is of type "{type}", which this data plane cannot talk to yet',
  },
  /** The provider refused the request itself (4xx other than auth and rate limits): its message is kept. */
  TG_ERR_AI_PROVIDER_REJECTED: { status: 400, message: 'provider {provider} rejected the request: {reason}' },
  TG_ERR_AI_PROVIDER_AUTH: {
    status: 502,
    message:
      "provider {provider} refused the gateway's credentials ({providerStatus}): {reason}; the AIProvider's auth Secret needs fixing",
  },
  TG_ERR_AI_RATE_LIMITED: {
    status: 429,
    message: 'every provider for the model "{model}" is rate limited; retry after {seconds} s',
  },
  TG_ERR_AI_PROVIDER_ERROR: {
    status: 502,
    message: 'every provider for the model "{model}" failed; the last ({provider}) answered: {reason}',
  },
  TG_ERR_AI_PROVIDER_OVERLOADED: {
    status: 503,
    message: 'every provider for the model "{model}" is overloaded; the last ({provider}) answered: {reason}',
  },
  TG_ERR_AI_BAD_PROVIDER_RESPONSE: {
    status: 502,
    message: 'provider {provider} sent a response the gateway could not read: {reason}',
  },
  /** Recorded (the stream had started, so the client sees an error event, not a status). */
  TG_ERR_AI_STREAM_ERROR: { status: 502, message: 'provider {provider} failed mid-stream: {reason}' },
  TG_ERR_AUTH_MISSING_KEY: {
    status: 401,
    message:
      'an API key is required: send it as "Authorization: Bearer <key>" or in one of the headers {headers}',
  },
  TG_ERR_AUTH_INVALID_KEY: { status: 401, message: 'the API key is not valid' },
  TG_ERR_AUTH_CONSUMER_DISABLED: { status: 403, message: 'consumer {consumer} is disabled' },
  TG_ERR_AUTH_FORBIDDEN: { status: 403, message: '{who} is not allowed{what} on this route ({why})' },
  TG_ERR_AUTH_MISSING_TOKEN: {
    status: 401,
    message: 'a bearer token is required: send it as "Authorization: Bearer <JWT>"',
  },
  TG_ERR_AUTH_INVALID_TOKEN: { status: 401, message: 'the bearer token is not valid: {reason}' },
  /** JWT authentication could not get the issuer's signing keys (key server down, discovery failed). */
  TG_ERR_AUTH_KEYS_UNAVAILABLE: {
    status: 503,
    message: 'the signing keys of issuer {issuer} could not be fetched: {reason}',
  },
  TG_ERR_RATE_LIMITED: {
    status: 429,
    message: 'rate limit "{name}" ({amount} per {window}) is used up for {key}; retry after {seconds} s',
  },
  /** An enforced budget has no room for the request (OpenAI clients see type insufficient_quota). */
  TG_ERR_BUDGET_EXCEEDED: {
    status: 429,
    message: 'budget "{budget}" of {key} is spent for this {period} ({detail}); it resets at {resetsAt}',
  },
  /** A budget with failureMode: closed, and its shared store did not answer. */
  TG_ERR_BUDGET_UNAVAILABLE: {
    status: 503,
    message: 'the budget store is unavailable and budget "{budget}" fails closed: {reason}',
  },
  /** A global limit with failureMode: closed, and its shared counter store did not answer. */
  TG_ERR_RATE_LIMIT_UNAVAILABLE: {
    status: 503,
    message: 'the rate-limit store is unavailable and this limit fails closed: {reason}',
  },
  /** Guardrails (Policy guardrails): messages name the rule and the Policy, never the text that tripped it. */
  TG_ERR_GUARDRAIL_MODEL_NOT_ALLOWED: {
    status: 403,
    message: 'the model "{model}" is not allowed here by {policy} (rule allowedModels: {allowed})',
  },
  TG_ERR_GUARDRAIL_INPUT_TOO_LARGE: {
    status: 400,
    message: 'the prompt has about {tokens} tokens; {policy} allows at most {limit} (rule maxInputTokens)',
  },
  TG_ERR_GUARDRAIL_DENIED_PATTERN: {
    status: 400,
    message: 'the {what} matches a pattern {policy} denies (rule denyPatterns[{index}])',
  },
  TG_ERR_GUARDRAIL_PROMPT_INJECTION: {
    status: 400,
    message:
      'the prompt looks like a prompt-injection attempt ({signals}: score {score}, threshold {threshold}); {policy} refuses it (rule promptInjection)',
  },
  TG_ERR_GUARDRAIL_SENSITIVE_DATA: {
    status: 400,
    message:
      'the prompt contains {what}, which {policy} does not let leave the gateway (rule {rule}); remove it and retry',
  },
  /** The provider's answer tripped a block rule: withheld (non-streamed) or cut (a stream's error event). */
  TG_ERR_GUARDRAIL_RESPONSE_BLOCKED: {
    status: 403,
    message: 'the response was withheld: it contained {what}, which {policy} blocks (rule {rule})',
  },
  TG_ERR_INTERNAL: { status: 500, message: 'internal gateway error: {reason}' },
  /** Never sent (the client is gone); recorded in logs and metrics with nginx's 499 convention. */
  TG_ERR_CLIENT_CLOSED: {
    status: 499,
    message: 'the client closed the connection before the response completed',
  },
  /** Never sent: recorded for exchanges cut when a drain reaches its deadline. */
  TG_ERR_DRAIN_DEADLINE: { status: 503, message: 'the gateway shut down before the response completed' },
  /** Raised by `applySnapshot`; reaches the controller as the NACK detail. */
  TG_ERR_SNAPSHOT_INVALID: { status: 500, message: 'snapshot {version} rejected: {reason}' },
} as const satisfies Record<string, ErrorDefinition>;

export type ErrorCode = keyof typeof ERRORS;

export type ErrorParams = Record<string, string | number | undefined>;

/** The status and the filled-in message of a code. */
export function describeError(
  code: ErrorCode,
  params: ErrorParams = {},
): { status: number; message: string } {
  const { status, message } = ERRORS[code];
  return { status, message: fillTemplate(message, params) };
}

function fillTemplate(template: string, params: ErrorParams): string {
  return template.replace(/\{(\w+)\}/g, (_whole, name: string) => String(params[name] ?? '?'));
}

/** An error that carries its code, for the paths where errors are thrown rather than answered. */
export class TollgateError extends Error {
  readonly code: ErrorCode;
  readonly status: number;

  constructor(code: ErrorCode, params: ErrorParams = {}, options?: ErrorOptions) {
    const { status, message } = describeError(code, params);
    super(message, options);
    this.name = 'TollgateError';
    this.code = code;
    this.status = status;
  }
}

/**
 * Wire shape of an error body: Anthropic's on its Messages API (`/v1/messages`), OpenAI's on the
 * rest of the `/v1/*` API surface, our own elsewhere. AI routes choose the shape of the API the
 * client called, wherever the route mounts it.
 */
export type ErrorShape = 'tollgate' | 'openai' | 'anthropic';

export function errorShapeFor(path: string): ErrorShape {
  if (path === '/v1/messages' || path.startsWith('/v1/messages/')) return 'anthropic';
  return path.startsWith('/v1/') || path === '/v1' ? 'openai' : 'tollgate';
}

/**
 * Serialises an error body. `code` is a string rather than ErrorCode because direct responses
 * carry codes the controller chose (still TG_ERR_*, but from its own table).
 */
export function renderErrorBody(shape: ErrorShape, code: string, status: number, message: string): string {
  if (shape === 'openai') {
    const type = code === 'TG_ERR_BUDGET_EXCEEDED' ? 'insufficient_quota' : openAiErrorType(status);
    return JSON.stringify({ error: { message, type, param: null, code } });
  }
  if (shape === 'anthropic') {
    return JSON.stringify({ type: 'error', error: { type: anthropicErrorType(status), message } });
  }
  return JSON.stringify({ error: { code, message } });
}

function openAiErrorType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  if (status < 500) return 'invalid_request_error';
  return 'server_error';
}

function anthropicErrorType(status: number): string {
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
