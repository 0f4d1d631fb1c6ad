// Policy section `authentication`: who is calling. API keys (matched against Consumers' keys) and
// JWT/OIDC bearer tokens; with both, either one authenticates the request.
import { z } from 'zod';
import { listMap, listSet, withRules } from '../cel.ts';
import { duration, headerName, httpURL } from '../common.ts';

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

export const JWTAuthentication = z
  .object({
    required: z.boolean().default(true).meta({
      description: 'When true, a request without a token is refused (401). An invalid token always is.',
    }),
    issuer: z.string().min(1).max(2048).meta({ description: 'Required value of the "iss" claim.' }),
    audiences: listSet(z.array(z.string().min(1).max(256)).max(16))
      .optional()
      .meta({
        description: 'Accepted "aud" values; the token must carry one of them. Unset: "aud" is not checked.',
      }),
    jwksURI: httpURL.meta({ description: 'URL of the JSON Web Key Set holding the signing keys.' }),
    clockSkew: duration
      .default('30s')
      .meta({ description: 'Tolerance applied to the "exp" and "nbf" claims.' }),
    consumerClaim: z.string().min(1).max(256).optional().meta({
      description:
        'Claim whose value is the name of the Consumer (in the policy namespace) the request is attributed to. Unset: requests are attributed to no Consumer.',
    }),
    forwardClaims: listMap(z.array(ClaimToHeader).max(16), ['header'])
      .optional()
      .meta({ description: 'Claims copied into request headers sent upstream.' }),
  })
  .meta({ description: 'Authenticates requests with JWT bearer tokens (OIDC access or ID tokens).' });
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
