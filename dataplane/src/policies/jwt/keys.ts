// Where a JWT's signing keys come from. Remote key sets are cached per URL for the life of the
// process (not per snapshot), so a configuration push does not refetch them and a key rotation is
// picked up by jose itself: a token whose key id is unknown triggers a refetch, at most once per
// cool-down. Discovery documents are cached the same way.
import type { JWTAuthenticationIR } from '@tollgate/snapshot';
import { createLocalJWKSet, createRemoteJWKSet, type JWTVerifyGetKey } from 'jose';
import { z } from 'zod';

/** Cool-down between refetches for unknown key ids; shorter when the cache itself is shorter. */
const MAX_COOLDOWN_MS = 30_000;
const FETCH_TIMEOUT_MS = 5_000;
/** Remote key sets kept; old entries go first (a data plane rarely has more than a handful). */
const MAX_CACHED = 256;

const remoteSets = new Map<string, JWTVerifyGetKey>();
const discovered = new Map<string, { jwksURI: Promise<string>; at: number }>();

function remember<V>(map: Map<string, V>, key: string, value: V): V {
  if (map.size >= MAX_CACHED) map.delete(map.keys().next().value as string);
  map.set(key, value);
  return value;
}

export function remoteKeySet(url: string, cacheMs: number): JWTVerifyGetKey {
  const key = `${cacheMs} ${url}`;
  return (
    remoteSets.get(key) ??
    remember(
      remoteSets,
      key,
      createRemoteJWKSet(new URL(url), {
        cacheMaxAge: cacheMs,
        cooldownDuration: Math.min(MAX_COOLDOWN_MS, cacheMs),
        timeoutDuration: FETCH_TIMEOUT_MS,
      }),
    )
  );
}

const DiscoveryDocument = z.object({ issuer: z.string(), jwks_uri: z.url() });

/** `<issuer>/.well-known/openid-configuration` → jwks_uri; failures are not cached. */
async function discoverJWKS(issuer: string, cacheMs: number): Promise<string> {
  const now = Date.now();
  const cached = discovered.get(issuer);
  if (cached && now - cached.at < cacheMs) return cached.jwksURI;
  const url = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  const jwksURI = (async () => {
    const response = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    if (!response.ok) throw new Error(`${url} answered ${response.status}`);
    const parsed = DiscoveryDocument.safeParse(await response.json());
    if (!parsed.success) throw new Error(`${url} is not an OpenID Connect discovery document`);
    if (parsed.data.issuer !== issuer) {
      throw new Error(`${url} names issuer "${parsed.data.issuer}", not "${issuer}"`);
    }
    return parsed.data.jwks_uri;
  })();
  remember(discovered, issuer, { jwksURI, at: now });
  jwksURI.catch(() => {
    if (discovered.get(issuer)?.jwksURI === jwksURI) discovered.delete(issuer);
  });
  return jwksURI;
}

/** Thrown when keys cannot be had (network, discovery); the request gets a 503, not a 401. */
export class KeysUnavailableError extends Error {}

/** The key resolver of a JWT section, built once per snapshot. */
export function keyResolver(ir: JWTAuthenticationIR): JWTVerifyGetKey {
  const source = ir.keys;
  if (source.kind === 'inline')
    return createLocalJWKSet(source.jwks as Parameters<typeof createLocalJWKSet>[0]);
  if (source.kind === 'remote') return remoteKeySet(source.url, ir.cacheMs);
  return async (header, token) => {
    let jwksURI: string;
    try {
      jwksURI = await discoverJWKS(ir.issuer, ir.cacheMs);
    } catch (error) {
      throw new KeysUnavailableError((error as Error).message, { cause: error });
    }
    return remoteKeySet(jwksURI, ir.cacheMs)(header, token);
  };
}
