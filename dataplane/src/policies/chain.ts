// A route entry's policy chain, compiled once per snapshot from its RoutePolicyIR: authenticate
// (API key → Consumer), authorize (ordered allow/deny rules), rate-limit. Each step either lets
// the request go on or returns a refusal (an error code with its parameters and headers), which
// the proxy answers in the caller's API format.
import type { IncomingMessage } from 'node:http';
import type { AuthorizationRuleIR, RateLimitIR, RoutePolicyIR } from '@tollgate/snapshot';
import type { JWTPayload } from 'jose';
import type { ErrorCode, ErrorParams } from '../errors.ts';
import { globMatches } from '../router/glob.ts';
import { type BudgetGuard, compileBudgetGuard } from './budgets/guard.ts';
import type { BudgetService } from './budgets/service.ts';
import type { CallerIdentity, ConsumerDirectory } from './consumers.ts';
import { callerFromClaims, claimHeaders, claimValue } from './jwt/claims.ts';
import { compileJWTVerifier } from './jwt/verifier.ts';
import type { RateLimitRequest, RateLimitResult, RateLimitStore } from './rate-limit.ts';
import { StoreUnavailableError } from './store-errors.ts';

export interface Refusal {
  code: ErrorCode;
  params: ErrorParams;
  headers?: Record<string, string>;
}

/** What the chain learnt about a request: who calls, and which header carried the key. */
export interface RequestContext {
  caller: CallerIdentity | undefined;
  /** The header the API key (or token) came from; it is not forwarded upstream. */
  credentialHeader: string | undefined;
  /** The verified JWT's claims (authorization rules on claims). */
  claims?: JWTPayload;
  /** Headers set (or, when undefined, removed) upstream: JWT claims. */
  forwardHeaders?: ReadonlyArray<readonly [string, string | undefined]>;
}

export interface AdmitInput {
  req: IncomingMessage;
  routeId: string;
  clientIP: string | undefined;
  /** Authorization waits for the model (AI routes: known once the body is read). */
  deferAuthorization: boolean;
}

/** The AI token figures of a finished request (the access-log record of the AI meter). */
export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
}

export type Admission =
  | {
      ok: true;
      context: RequestContext;
      responseHeaders: Record<string, string>;
      /** Set when token limits apply: charges the request's tokens once the response is over. */
      settle?: (usage: TokenUsage | undefined) => void;
    }
  | { ok: false; refusal: Refusal; context: RequestContext };

export interface PolicyChain {
  /** Authentication, authorization (unless deferred) and rate limits. */
  admit(input: AdmitInput): Admission | Promise<Admission>;
  /** Authorization alone, with the model when known; undefined ⇒ allowed. */
  authorize(
    caller: CallerIdentity | undefined,
    model: string | undefined,
    claims?: JWTPayload | undefined,
  ): Refusal | undefined;
  /** The budgets this caller's AI requests reserve against; undefined ⇒ none. */
  budgets(caller: CallerIdentity | undefined): BudgetGuard | undefined;
}

export interface ChainContext {
  consumers: ConsumerDirectory;
  rateLimits: RateLimitStore;
  /** Budget counters and reports; without it budgets are not enforced (tests of other sections). */
  budgets?: BudgetService | undefined;
}

const ANONYMOUS = { caller: undefined, credentialHeader: undefined } as const;
const CHALLENGE = { 'www-authenticate': 'Bearer realm="tollgate"' };

export function compilePolicyChain(
  ir: RoutePolicyIR | undefined,
  ctx: ChainContext,
): PolicyChain | undefined {
  if (!ir || (!ir.authentication && !ir.authorization && !ir.rateLimits && !ir.budgets)) return undefined;
  const { authentication } = ir;
  const jwt = authentication?.jwt;
  const verifyJWT = jwt ? compileJWTVerifier(jwt) : undefined;
  /** Claim headers removed from requests that carry no verified token. */
  const noClaims = jwt?.forwardClaims ? claimHeaders(undefined, jwt) : undefined;
  const anonymous: RequestContext = noClaims ? { ...ANONYMOUS, forwardHeaders: noClaims } : ANONYMOUS;
  const byConsumer = new Map(Object.entries(ir.byConsumer ?? {}));
  /** The authorization and rate limits for this caller: its own Policies' where they win. */
  const sectionsFor = (caller: CallerIdentity | undefined) => {
    const own = caller ? byConsumer.get(caller.id) : undefined;
    return {
      authorization: own?.authorization ?? ir.authorization,
      rateLimits: own?.rateLimits ?? ir.rateLimits,
      budgets: own?.budgets ?? ir.budgets,
    };
  };
  // Budget guards compiled once per snapshot: the entry's and each consumer's own.
  const guards = new Map<object, BudgetGuard>();
  const service = ctx.budgets;
  if (service) {
    for (const section of [ir.budgets, ...[...byConsumer.values()].map((c) => c.budgets)]) {
      if (section && !guards.has(section)) guards.set(section, compileBudgetGuard(section, service));
    }
  }
  function budgets(caller: CallerIdentity | undefined): BudgetGuard | undefined {
    const section = sectionsFor(caller).budgets;
    return section ? guards.get(section) : undefined;
  }

  type Authenticated = { context: RequestContext } | { refusal: Refusal; context: RequestContext };

  /** API key or JWT; with both configured, a bearer value shaped like a JWT is read as one. */
  function authenticate(req: IncomingMessage): Authenticated | Promise<Authenticated> {
    if (!authentication) return { context: ANONYMOUS };
    const { apiKey } = authentication;
    if (jwt && verifyJWT) {
      const token = bearerToken(req);
      if (token !== undefined && (!apiKey || JWT_SHAPE.test(token))) return authenticateJWT(token);
    }
    const found = apiKey ? findKey(req, apiKey.headers) : undefined;
    if (!found) {
      if (!(apiKey?.required || jwt?.required)) return { context: anonymous };
      const refusal: Refusal = apiKey
        ? {
            code: 'TG_ERR_AUTH_MISSING_KEY',
            params: { headers: apiKey.headers.join(', ') },
            headers: CHALLENGE,
          }
        : { code: 'TG_ERR_AUTH_MISSING_TOKEN', params: {}, headers: CHALLENGE };
      return { refusal, context: ANONYMOUS };
    }
    const caller = ctx.consumers.byKey(found.key);
    if (!caller) {
      return {
        refusal: { code: 'TG_ERR_AUTH_INVALID_KEY', params: {}, headers: CHALLENGE },
        context: ANONYMOUS,
      };
    }
    const context: RequestContext = { ...anonymous, caller, credentialHeader: found.header };
    if (caller.disabled) {
      return {
        refusal: { code: 'TG_ERR_AUTH_CONSUMER_DISABLED', params: { consumer: label(caller) } },
        context,
      };
    }
    return { context };
  }

  async function authenticateJWT(token: string): Promise<Authenticated> {
    const verdict = await verifyJWT!(token);
    if (!verdict.ok) {
      const refusal: Refusal =
        verdict.code === 'TG_ERR_AUTH_KEYS_UNAVAILABLE'
          ? { code: verdict.code, params: { issuer: jwt!.issuer, reason: verdict.reason } }
          : {
              code: verdict.code,
              params: { reason: verdict.reason },
              headers: { 'www-authenticate': 'Bearer realm="tollgate", error="invalid_token"' },
            };
      return { refusal, context: ANONYMOUS };
    }
    const context: RequestContext = {
      caller: callerFromClaims(verdict.claims, jwt!, ctx.consumers),
      claims: verdict.claims,
      credentialHeader: jwt!.forwardToken ? undefined : 'authorization',
      ...(jwt!.forwardClaims ? { forwardHeaders: claimHeaders(verdict.claims, jwt!) } : {}),
    };
    const { caller } = context;
    if (caller?.disabled) {
      return {
        refusal: { code: 'TG_ERR_AUTH_CONSUMER_DISABLED', params: { consumer: label(caller) } },
        context,
      };
    }
    return { context };
  }

  function authorize(
    caller: CallerIdentity | undefined,
    model: string | undefined,
    claims?: JWTPayload | undefined,
  ): Refusal | undefined {
    const { authorization } = sectionsFor(caller);
    if (!authorization) return undefined;
    const rule = authorization.rules.find((r) => ruleMatches(r, caller, model, claims));
    const action = rule?.action ?? authorization.defaultAction;
    if (action === 'allow') return undefined;
    const who = caller
      ? `consumer ${label(caller)}${caller.team ? ` (team ${caller.team})` : ''}`
      : 'anonymous caller';
    const what = model === undefined ? '' : ` for model "${model}"`;
    const why = rule
      ? `rule ${rule.name ?? `#${authorization.rules.indexOf(rule) + 1}`}`
      : 'the default action';
    return { code: 'TG_ERR_AUTH_FORBIDDEN', params: { who, what, why } };
  }

  function limit(input: AdmitInput, caller: CallerIdentity | undefined) {
    const { rateLimits } = sectionsFor(caller);
    if (!rateLimits) return undefined;
    const requests: RateLimitRequest[] = rateLimits.limits.map((l) => ({
      key: `${rateLimits.from}/${l.name}/${keyValue(l.key, l.header, input, caller)}`,
      limit: l.limit,
      windowMs: l.windowMs,
      cost: l.tokens ? 0 : 1,
      ...(l.scope ? { scope: l.scope } : {}),
      ...(l.failureMode ? { failureMode: l.failureMode } : {}),
    }));
    return { requests, limits: rateLimits.limits, results: ctx.rateLimits.acquire(requests) };
  }

  /** Charges the tokens a response used to the token limits it was admitted under. */
  function settler(
    requests: RateLimitRequest[],
    limits: RateLimitIR[],
  ): ((usage: TokenUsage | undefined) => void) | undefined {
    const tokenRequests = requests.flatMap((r, i) => {
      const count = limits[i]?.tokens;
      return count ? [{ request: r, count }] : [];
    });
    if (tokenRequests.length === 0) return undefined;
    return (usage) => {
      if (!usage) return;
      const charges = tokenRequests
        .map(({ request, count }) => ({ ...request, cost: tokensOf(usage, count) }))
        .filter((c) => c.cost > 0);
      if (charges.length > 0) void ctx.rateLimits.charge(charges);
    };
  }

  function admit(input: AdmitInput): Admission | Promise<Admission> {
    const authn = authenticate(input.req);
    if (authn instanceof Promise) return authn.then((a) => admitAuthenticated(input, a));
    return admitAuthenticated(input, authn);
  }

  function admitAuthenticated(input: AdmitInput, authn: Authenticated): Admission | Promise<Admission> {
    if ('refusal' in authn) return { ok: false, refusal: authn.refusal, context: authn.context };
    const { context } = authn;
    if (!input.deferAuthorization) {
      const refusal = authorize(context.caller, undefined, context.claims);
      if (refusal) return { ok: false, refusal, context };
    }
    const limited = limit(input, context.caller);
    if (limited === undefined) return { ok: true, context, responseHeaders: {} };
    const settle = settler(limited.requests, limited.limits);
    const decide = (r: RateLimitResult[]): Admission => {
      const admission = verdict(r, context, limited.requests, limited.limits);
      return admission.ok && settle ? { ...admission, settle } : admission;
    };
    const { results } = limited;
    if (Array.isArray(results)) return decide(results);
    // A shared store that fails closed refuses in the caller's format rather than as a 500.
    return results.then(decide, (error: unknown): Admission => {
      if (!(error instanceof StoreUnavailableError)) throw error;
      return { ok: false, context, refusal: { code: error.code, params: error.params } };
    });
  }

  return { admit, authorize, budgets };
}

function tokensOf(usage: TokenUsage, count: NonNullable<RateLimitIR['tokens']>): number {
  if (count === 'input') return usage.inputTokens;
  if (count === 'output') return usage.outputTokens;
  return usage.inputTokens + usage.outputTokens;
}

function verdict(
  results: RateLimitResult[],
  context: RequestContext,
  requests: RateLimitRequest[],
  limits: RateLimitIR[],
): Admission {
  // Headers describe the tightest limit: the refusing one, else the request limit with least
  // headroom (token limits only when there is no request limit: their units differ).
  const refused = results.find((r) => !r.allowed);
  const requestLimits = results.filter((_r, i) => requests[i]?.cost !== 0);
  const candidates = requestLimits.length > 0 ? requestLimits : results;
  const tightest = refused ?? candidates.reduce((a, b) => (b.remaining < a.remaining ? b : a));
  const headers: Record<string, string> = {
    'x-ratelimit-limit': String(tightest.limit),
    'x-ratelimit-remaining': String(tightest.remaining),
    'x-ratelimit-reset': String(Math.max(0, Math.ceil(tightest.resetMs / 1000))),
  };
  if (!refused) return { ok: true, context, responseHeaders: headers };
  const seconds = Math.max(1, Math.ceil(refused.retryAfterMs / 1000));
  // The caller learns which limit ran out and for whom: the counter key ends with `<key>=<value>`
  // (object names never contain "=", so the first "/<key>=" starts it).
  const index = results.indexOf(refused);
  const l = limits[index];
  const keyed = /\/(\w+)=(.*)$/.exec(requests[index]?.key ?? '');
  return {
    ok: false,
    context,
    refusal: {
      code: 'TG_ERR_RATE_LIMITED',
      params: {
        seconds,
        name: l?.name ?? '-',
        key: keyed ? `${keyed[1]} "${keyed[2]}"` : '-',
        amount: `${refused.limit} ${l?.tokens ? 'tokens' : 'requests'}`,
        window: windowText(l?.windowMs ?? 0),
      },
      headers: { ...headers, 'retry-after': String(seconds) },
    },
  };
}

/** 60000 → "1m", 3600000 → "1h", 1500 → "1500ms": the way windows are written in manifests. */
function windowText(ms: number): string {
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

function keyValue(
  key: RateLimitIR['key'],
  header: string | undefined,
  input: AdmitInput,
  caller: CallerIdentity | undefined,
): string {
  switch (key) {
    case 'consumer':
      return `consumer=${caller?.id ?? '-'}`;
    case 'team':
      return `team=${caller?.team ?? '-'}`;
    case 'tenant':
      return `tenant=${caller?.tenant ?? '-'}`;
    case 'route':
      return `route=${input.routeId}`;
    case 'header': {
      const value = header === undefined ? undefined : input.req.headers[header];
      return `header=${Array.isArray(value) ? value.join(',') : (value ?? '-')}`;
    }
    case 'clientIP':
      return `ip=${input.clientIP ?? '-'}`;
    // The model is only known after the body is read; until then it counts per route.
    case 'model':
      return `route=${input.routeId}`;
  }
}

function ruleMatches(
  rule: AuthorizationRuleIR,
  caller: CallerIdentity | undefined,
  model: string | undefined,
  claims: JWTPayload | undefined,
): boolean {
  if (rule.consumers && !(caller && rule.consumers.includes(caller.id))) return false;
  if (rule.teams && !(caller?.team && rule.teams.includes(caller.team))) return false;
  if (rule.tenants && !(caller?.tenant && rule.tenants.includes(caller.tenant))) return false;
  if (rule.models && !(model !== undefined && rule.models.some((m) => globMatches(m, model)))) return false;
  if (rule.claims && !rule.claims.every((c) => claimMatches(claims, c.name, c.values))) return false;
  return true;
}

/** A claim equal to one of `values` or, for a list claim, containing one (no token ⇒ no match). */
function claimMatches(claims: JWTPayload | undefined, name: string, values: readonly string[]): boolean {
  if (!claims) return false;
  const value = claimValue(claims, name);
  const items = Array.isArray(value) ? value : [value];
  return items.some((item) => item !== undefined && item !== null && values.includes(String(item)));
}

/** header.payload.signature, each base64url: what a JWS in compact form looks like. */
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

function bearerToken(req: IncomingMessage): string | undefined {
  const raw = req.headers.authorization;
  const match = raw ? /^Bearer\s+(\S+)$/i.exec(raw.trim()) : null;
  return match?.[1];
}

/** The first configured header holding a key; Authorization is read as "Bearer <key>". */
function findKey(
  req: IncomingMessage,
  headers: readonly string[],
): { header: string; key: string } | undefined {
  for (const header of headers) {
    const raw = req.headers[header];
    const value = (Array.isArray(raw) ? raw[0] : raw)?.trim();
    if (!value) continue;
    if (header === 'authorization') {
      const match = /^Bearer\s+(\S+)$/i.exec(value);
      if (match?.[1]) return { header, key: match[1] };
      continue;
    }
    return { header, key: value };
  }
  return undefined;
}

function label(caller: CallerIdentity): string {
  return `${caller.namespace}/${caller.name}`;
}
