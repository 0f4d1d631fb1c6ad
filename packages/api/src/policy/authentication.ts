// Policy section `authentication`: who is calling. API keys (matched against Consumers' keys) and
// JWT/OIDC bearer tokens; with both, either one authenticates the request.
import { z } from 'zod';
import { listMap, listSet, withRules } from '../cel.ts';
import { duration, headerName, httpURL, SecretKeyRef } from '../common.ts';

export const APIKeyAuthentication = z
  .object({
    required: z.boolean().default(true).meta({
      description:
        'When true, a request without a key is refused (401). When false it passes as anonymous; a wrong key is still refused.',
    }),
    headers: listSet(z.array(headerName).min(1).max(8))
      .default(['authorization', 'x-api-key', 'api-key'])
      .meta({
        description:
          'Headers searched for the key, in order. Authorization is read as "Bearer <key>", any other header as the bare key.',
      }),
  })
  .meta({ description: 'Authenticates requests with the API keys of Consumers.' });
export type APIKeyAuthentication = z.infer<typeof APIKeyAuthentication>;

export const ClaimToHeader = z
  .object({
    claim: z
      .string()
      .min(1)
      .max(256)
      .meta({ description: 'Claim name; a dotted path ("realm_access.roles") reads a nested claim.' }),
    header: headerName.meta({ description: 'Request header that receives the value, sent upstream.' }),
  })
  .meta({ description: 'Copies a claim of a verified token into a request header.' });
export type ClaimToHeader = z.infer<typeof ClaimToHeader>;

export const jwtAlgorithms = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const;

export const JWTAuthentication = withRules(
  z
    .object({
      required: z.boolean().default(true).meta({
        description: 'When true, a request without a token is refused (401). An invalid token always is.',
      }),
      issuer: z.string().min(1).max(2048).meta({ description: 'Required value of the "iss" claim.' }),
      audiences: listSet(z.array(z.string().min(1).max(256)).max(16))
        .optional()
        .meta({
          description:
            'Accepted "aud" values; the token must carry one of them. Unset: "aud" is not checked.',
        }),
      jwksURI: httpURL.optional().meta({
        description:
          'URL of the JSON Web Key Set holding the signing keys. Set exactly one of jwksURI, jwks and discovery.',
      }),
      jwks: z
        .object({
          secretRef: SecretKeyRef.meta({
            description: 'Secret key whose value is a JSON Web Key Set ({"keys": [...]}) of public keys.',
          }),
        })
        .optional()
        .meta({ description: 'Signing keys given inline, from a Secret (no key server needed).' }),
      discovery: z.boolean().optional().meta({
        description:
          "When true, the key set URL is read from the issuer's OpenID Connect discovery document (<issuer>/.well-known/openid-configuration).",
      }),
      jwksCacheDuration: duration.default('10m').meta({
        description:
          'How long fetched keys are used before they are fetched again. A token signed by an unknown key id triggers a refetch at once (at most every 30 s, or every jwksCacheDuration when shorter), so rotated keys work without waiting.',
      }),
      algorithms: listSet(z.array(z.enum(jwtAlgorithms)).min(1).max(10))
        .optional()
        .meta({
          description:
            'Accepted signature algorithms ("alg"). Unset: every asymmetric algorithm listed here.',
        }),
      clockSkew: duration
        .default('30s')
        .meta({ description: 'Tolerance applied to the "exp" and "nbf" claims.' }),
      consumerClaim: z.string().min(1).max(256).optional().meta({
        description:
          'Claim whose value names the Consumer (in the policy namespace) the request is attributed to, e.g. "sub". A value naming no Consumer still identifies the caller (for budgets, rate limits and authorization by consumer). Unset: requests are attributed to no Consumer.',
      }),
      teamClaim: z.string().min(1).max(256).optional().meta({
        description:
          "Claim holding the caller's team, used when the Consumer it maps to has none (or there is no such Consumer).",
      }),
      tenantClaim: z.string().min(1).max(256).optional().meta({
        description:
          "Claim holding the caller's tenant, used when the Consumer it maps to has none (or there is no such Consumer).",
      }),
      forwardClaims: listMap(z.array(ClaimToHeader).max(16), ['header']).optional().meta({
        description:
          'Claims copied into request headers sent upstream (client-sent copies of these headers are always removed).',
      }),
      forwardToken: z.boolean().default(false).meta({
        description:
          'When true, the Authorization header with the token is sent upstream; by default it is removed.',
      }),
    })
    .meta({ description: 'Authenticates requests with JWT bearer tokens (OIDC access or ID tokens).' }),
  [
    {
      rule: '(has(self.jwksURI) ? 1 : 0) + (has(self.jwks) ? 1 : 0) + (has(self.discovery) && self.discovery ? 1 : 0) == 1',
      message: 'set exactly one of jwksURI, jwks and discovery: true',
    },
  ],
);
export type JWTAuthentication = z.infer<typeof JWTAuthentication>;

export const Authentication = withRules(
  z
    .object({
      apiKey: APIKeyAuthentication.optional(),
      jwt: JWTAuthentication.optional(),
    })
    .meta({
      description: 'How callers prove who they are. With apiKey and jwt both set, either one is enough.',
    }),
  [{ rule: 'has(self.apiKey) || has(self.jwt)', message: 'set apiKey, jwt or both' }],
);
export type Authentication = z.infer<typeof Authentication>;
