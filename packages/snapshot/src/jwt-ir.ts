// IR of JWT/OIDC authentication: what the data plane needs to verify a bearer token and map its
// claims to a caller. Durations are milliseconds; inline key sets are already parsed JSON.
import { z } from 'zod';

export const JWTKeySourceIR = z.discriminatedUnion('kind', [
  /** A key set served over HTTP(S), fetched and cached by the data plane. */
  z.object({ kind: z.literal('remote'), url: z.string() }),
  /** The key set URL is read from `<issuer>/.well-known/openid-configuration`. */
  z.object({ kind: z.literal('discovery') }),
  /** Keys given inline (from a Secret): a JSON Web Key Set. */
  z.object({ kind: z.literal('inline'), jwks: z.object({ keys: z.array(z.looseObject({})) }) }),
]);
export type JWTKeySourceIR = z.infer<typeof JWTKeySourceIR>;

export const JWTAuthenticationIR = z.object({
  required: z.boolean(),
  issuer: z.string(),
  /** Absent ⇒ "aud" is not checked. */
  audiences: z.array(z.string()).optional(),
  keys: JWTKeySourceIR,
  cacheMs: z.number().int().min(0),
  algorithms: z.array(z.string()),
  clockSkewMs: z.number().int().min(0),
  /** Namespace in which consumerClaim values name Consumers. */
  consumerNamespace: z.string(),
  consumerClaim: z.string().optional(),
  teamClaim: z.string().optional(),
  tenantClaim: z.string().optional(),
  /** Lowercase header names. */
  forwardClaims: z.array(z.object({ claim: z.string(), header: z.string() })).optional(),
  forwardToken: z.boolean(),
});
export type JWTAuthenticationIR = z.infer<typeof JWTAuthenticationIR>;
