// Verifying a bearer JWT for one route entry: signature (keys from keys.ts), issuer, audience,
// algorithm, exp/nbf with the clock skew. Failures come back as a reason a caller can act on
// ("the token expired", "issuer ... is not accepted"), never as a stack trace.
import type { JWTAuthenticationIR } from '@tollgate/snapshot';
import { errors, type JWTPayload, jwtVerify } from 'jose';
import { KeysUnavailableError, keyResolver } from './keys.ts';

export type JWTVerdict =
  | { ok: true; claims: JWTPayload }
  | { ok: false; code: 'TG_ERR_AUTH_INVALID_TOKEN'; reason: string }
  | { ok: false; code: 'TG_ERR_AUTH_KEYS_UNAVAILABLE'; reason: string };

export type JWTVerifier = (token: string) => Promise<JWTVerdict>;

export function compileJWTVerifier(ir: JWTAuthenticationIR): JWTVerifier {
  const keys = keyResolver(ir);
  const options = {
    issuer: ir.issuer,
    algorithms: ir.algorithms,
    clockTolerance: Math.round(ir.clockSkewMs / 1000),
    ...(ir.audiences ? { audience: ir.audiences } : {}),
  };
  return async (token) => {
    try {
      const { payload } = await jwtVerify(token, keys, options);
      return { ok: true, claims: payload };
    } catch (error) {
      return verdictOf(error, ir);
    }
  };
}

function verdictOf(error: unknown, ir: JWTAuthenticationIR): JWTVerdict {
  const invalid = (reason: string): JWTVerdict => ({ ok: false, code: 'TG_ERR_AUTH_INVALID_TOKEN', reason });
  if (error instanceof KeysUnavailableError || error instanceof errors.JWKSTimeout) {
    return { ok: false, code: 'TG_ERR_AUTH_KEYS_UNAVAILABLE', reason: (error as Error).message };
  }
  if (error instanceof errors.JWTExpired) return invalid('the token expired');
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'iss') return invalid(`its issuer is not ${JSON.stringify(ir.issuer)}`);
    if (error.claim === 'aud')
      return invalid(`its audience is not one of ${(ir.audiences ?? []).join(', ')}`);
    if (error.claim === 'nbf') return invalid('the token is not valid yet (nbf)');
    return invalid(`claim "${error.claim}" ${error.reason === 'missing' ? 'is missing' : 'is not valid'}`);
  }
  if (error instanceof errors.JOSEAlgNotAllowed) {
    return invalid(`its algorithm is not one of ${ir.algorithms.join(', ')}`);
  }
  if (error instanceof errors.JWKSNoMatchingKey) return invalid('no signing key of the issuer matches it');
  if (error instanceof errors.JWSSignatureVerificationFailed) return invalid('its signature does not verify');
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) {
    return invalid('it is not a well-formed JWT');
  }
  if (error instanceof errors.JWKSInvalid || error instanceof errors.JOSEError) {
    return invalid((error as Error).message);
  }
  // A remote key set that could not be fetched (connection refused, bad status, not JSON).
  return { ok: false, code: 'TG_ERR_AUTH_KEYS_UNAVAILABLE', reason: (error as Error).message };
}
