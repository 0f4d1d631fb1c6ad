// OAuth2 access tokens for a service account (the JWT-bearer grant, RFC 7523): an RS256 assertion
// signed with the account's key is exchanged at its token_uri. Tokens are cached per key until
// shortly before they expire; concurrent requests needing a new token share one exchange.
import { importPKCS8, SignJWT } from 'jose';
import type { ServiceAccountKey } from './service-account.ts';

export const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
/** A token is replaced this long before it expires, so no request leaves with one about to lapse. */
const REFRESH_MARGIN_MS = 5 * 60_000;
/** Token endpoints that do not answer in time fail the request rather than hang it. */
const TOKEN_TIMEOUT_MS = 10_000;

export class TokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenError';
  }
}

/** A cached OAuth token, refreshed before it expires, one fetch at a time. */
export class TokenCache {
  readonly #fetch: () => Promise<IssuedToken>;
  readonly #now: () => number;
  #cached: { token: string; refreshAt: number } | undefined;
  #pending: Promise<string> | undefined;

  constructor(fetch: () => Promise<IssuedToken>, now: () => number = Date.now) {
    this.#fetch = fetch;
    this.#now = now;
  }

  /** A valid access token: the cached one, or one fresh fetch shared by every caller waiting. */
  token(): Promise<string> {
    const cached = this.#cached;
    if (cached && cached.refreshAt > this.#now()) return Promise.resolve(cached.token);
    this.#pending ??= this.#refresh().finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  /** Forgets the cached token (the provider refused it). */
  invalidate(): void {
    this.#cached = undefined;
  }

  async #refresh(): Promise<string> {
    const { token, lifetimeMs } = await this.#fetch();
    // Short-lived tokens are used for at least half their life rather than refreshed at once.
    const margin = Math.min(REFRESH_MARGIN_MS, lifetimeMs / 2);
    this.#cached = { token, refreshAt: this.#now() + lifetimeMs - margin };
    return token;
  }
}

export interface IssuedToken {
  token: string;
  lifetimeMs: number;
}

/** Tokens of a service account, from its JSON key. */
export class ServiceAccountTokens extends TokenCache {
  constructor(key: ServiceAccountKey, now: () => number = Date.now) {
    super(() => exchange(key, now), now);
  }
}

/** The OAuth2 token endpoint's answer (`{access_token, expires_in}`) → IssuedToken, or a TokenError. */
export async function readTokenResponse(response: Response, what: string): Promise<IssuedToken> {
  const json = (await response.json().catch(() => undefined)) as
    | { access_token?: unknown; expires_in?: unknown; error?: unknown; error_description?: unknown }
    | undefined;
  if (!response.ok || typeof json?.access_token !== 'string') {
    const reason = typeof json?.error_description === 'string' ? json.error_description : json?.error;
    throw new TokenError(`${what} refused (${response.status}: ${String(reason ?? 'no reason')})`);
  }
  const seconds = typeof json.expires_in === 'number' && json.expires_in > 0 ? json.expires_in : 3600;
  return { token: json.access_token, lifetimeMs: seconds * 1000 };
}

async function exchange(key: ServiceAccountKey, now: () => number): Promise<IssuedToken> {
  let privateKey: Awaited<ReturnType<typeof importPKCS8>>;
  try {
    privateKey = await importPKCS8(key.private_key, 'RS256');
  } catch {
    throw new TokenError(`the service-account key of ${key.client_email} has an unreadable private_key`);
  }
  const issuedAt = Math.floor(now() / 1000);
  const assertion = await new SignJWT({ scope: CLOUD_PLATFORM_SCOPE })
    .setProtectedHeader({
      alg: 'RS256',
      typ: 'JWT',
      ...(key.private_key_id ? { kid: key.private_key_id } : {}),
    })
    .setIssuer(key.client_email)
    .setAudience(key.token_uri)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + 3600)
    .sign(privateKey);
  let response: Response;
  try {
    response = await fetch(key.token_uri, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }),
      signal: AbortSignal.timeout(TOKEN_TIMEOUT_MS),
    });
  } catch (error) {
    throw new TokenError(`the token endpoint could not be reached: ${(error as Error).message}`);
  }
  return readTokenResponse(response, 'the token endpoint');
}

/** One token source per distinct key: providers sharing a service account share its token. */
const SOURCES = new Map<string, ServiceAccountTokens>();
const MAX_SOURCES = 256;

export function tokensFor(key: ServiceAccountKey): ServiceAccountTokens {
  const id = `${key.client_email}\n${key.private_key_id ?? ''}\n${key.token_uri}\n${key.private_key}`;
  let source = SOURCES.get(id);
  if (!source) {
    // Rotated keys leave old entries behind; the bound keeps that from growing without end.
    if (SOURCES.size >= MAX_SOURCES) SOURCES.delete(SOURCES.keys().next().value!);
    source = new ServiceAccountTokens(key);
    SOURCES.set(id, source);
  }
  return source;
}

/**
 * Forgets every cached service-account token. The adapter cannot tell which token a 401 answered,
 * and a token refused before its expiry (revoked, key rotated) must not keep failing requests until
 * it would have expired: one new exchange per account is the price.
 */
export function invalidateServiceAccountTokens(): void {
  for (const source of SOURCES.values()) source.invalidate();
}
