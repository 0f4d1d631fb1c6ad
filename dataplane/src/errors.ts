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
  TG_ERR_UPSTREAM_TIMEOUT: {
    status: 504,
    message: 'upstream {upstream} did not answer within {timeoutMs} ms',
  },
  TG_ERR_UPGRADE_NOT_SUPPORTED: {
    status: 501,
    message: 'protocol upgrades ({protocol}) are not supported by this gateway yet',
  },
  /** Sent by direct responses the translator compiles for rules whose backends did not resolve. */
  TG_ERR_BACKEND_NOT_RESOLVED: {
    status: 500,
    message: "no backend of this route resolved; the Route's ResolvedRefs condition says why",
  },
  TG_ERR_BAD_REQUEST: { status: 400, message: 'malformed request: {reason}' },
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

/** Wire shape of an error body: OpenAI's on its `/v1/*` API surface, our own elsewhere. */
export type ErrorShape = 'tollgate' | 'openai';

export function errorShapeFor(path: string): ErrorShape {
  return path.startsWith('/v1/') || path === '/v1' ? 'openai' : 'tollgate';
}

/**
 * Serialises an error body. `code` is a string rather than ErrorCode because direct responses
 * carry codes the controller chose (still TG_ERR_*, but from its own table).
 */
export function renderErrorBody(shape: ErrorShape, code: string, status: number, message: string): string {
  if (shape === 'openai') {
    return JSON.stringify({ error: { message, type: openAiErrorType(status), param: null, code } });
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
