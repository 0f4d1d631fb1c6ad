// Ambient Google credentials: on GKE (workload identity) and Compute Engine, the metadata server
// hands out the pod's or VM's access token. GCE_METADATA_HOST overrides its address, as Google's
// own client libraries allow (read at each fetch, so it may be set after start-up).
import { type IssuedToken, readTokenResponse, TokenCache, TokenError } from './token.ts';

const DEFAULT_METADATA_HOST = '169.254.169.254';
const TOKEN_PATH = '/computeMetadata/v1/instance/service-accounts/default/token';
const METADATA_TIMEOUT_MS = 5_000;

const CACHES = new Map<string, TokenCache>();

function metadataHost(): string {
  return process.env.GCE_METADATA_HOST || DEFAULT_METADATA_HOST;
}

async function fetchMetadataToken(host: string): Promise<IssuedToken> {
  let response: Response;
  try {
    response = await fetch(`http://${host}${TOKEN_PATH}`, {
      // The header proves the request is not a forwarded one (metadata servers require it).
      headers: { 'metadata-flavor': 'Google' },
      signal: AbortSignal.timeout(METADATA_TIMEOUT_MS),
    });
  } catch (error) {
    throw new TokenError(`the metadata server could not be reached: ${(error as Error).message}`);
  }
  return readTokenResponse(response, 'the metadata server');
}

/** The token cache of the metadata server currently configured. */
export function ambientTokens(): TokenCache {
  const host = metadataHost();
  let cache = CACHES.get(host);
  if (!cache) {
    cache = new TokenCache(() => fetchMetadataToken(host));
    CACHES.set(host, cache);
  }
  return cache;
}

/** Forgets the ambient tokens (see invalidateServiceAccountTokens). */
export function invalidateAmbientTokens(): void {
  for (const cache of CACHES.values()) cache.invalidate();
}
