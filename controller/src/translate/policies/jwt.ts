// The `authentication.jwt` section of a Policy compiled for the snapshot: durations in ms, header
// names lowercased, the key source resolved. Inline keys come from a Secret read here, so the
// data plane never sees the Secret itself; a Secret that is missing or not a JSON Web Key Set
// leaves the section with no keys (every token refused: never an open door) and the Policy with
// ResolvedRefs=False naming the fix.
import { jwtAlgorithms } from '@tollgate/api';
import type { JWTAuthenticationIR } from '@tollgate/snapshot';
import { durationToMs } from '../durations.ts';
import type { ObjectIndex } from '../objects.ts';
import type { Reports } from '../report.ts';
import { readSecretKey } from '../secrets.ts';
import type { PolicyIR } from './attachment.ts';

/** Every asymmetric algorithm the API accepts: what a JWT section without `algorithms` allows. */
export const DEFAULT_JWT_ALGORITHMS: readonly string[] = jwtAlgorithms;

type KeySet = { keys: Record<string, unknown>[] };
type InlineKeys = { ok: true; jwks: KeySet } | { ok: false; reason: string; message: string };

export function compileJWT(policy: PolicyIR, index: ObjectIndex): JWTAuthenticationIR | undefined {
  const jwt = policy.spec.authentication?.jwt;
  if (!jwt) return undefined;
  let keys: JWTAuthenticationIR['keys'];
  if (jwt.jwksURI) keys = { kind: 'remote', url: jwt.jwksURI };
  else if (jwt.jwks) {
    const inline = inlineKeys(policy, index);
    keys = { kind: 'inline', jwks: inline?.ok ? inline.jwks : { keys: [] } };
  } else keys = { kind: 'discovery' };
  const out: JWTAuthenticationIR = {
    required: jwt.required,
    issuer: jwt.issuer,
    keys,
    cacheMs: durationToMs(jwt.jwksCacheDuration) ?? 600_000,
    algorithms: [...(jwt.algorithms ?? DEFAULT_JWT_ALGORITHMS)],
    clockSkewMs: durationToMs(jwt.clockSkew) ?? 30_000,
    consumerNamespace: policy.namespace,
    forwardToken: jwt.forwardToken,
  };
  if (jwt.audiences) out.audiences = [...jwt.audiences];
  if (jwt.consumerClaim !== undefined) out.consumerClaim = jwt.consumerClaim;
  if (jwt.teamClaim !== undefined) out.teamClaim = jwt.teamClaim;
  if (jwt.tenantClaim !== undefined) out.tenantClaim = jwt.tenantClaim;
  if (jwt.forwardClaims?.length) {
    out.forwardClaims = jwt.forwardClaims.map((f) => ({ claim: f.claim, header: f.header.toLowerCase() }));
  }
  return out;
}

/** ResolvedRefs=False on every Policy whose inline key set cannot be used. */
export function reportJWTProblems(policies: readonly PolicyIR[], index: ObjectIndex, reports: Reports): void {
  for (const policy of policies) {
    const inline = inlineKeys(policy, index);
    if (!inline || inline.ok) continue;
    reports
      .for({ kind: 'Policy', namespace: policy.namespace, name: policy.name })
      .unresolved(inline.reason, `spec.authentication.jwt.jwks.secretRef: ${inline.message}`);
  }
}

function inlineKeys(policy: PolicyIR, index: ObjectIndex): InlineKeys | undefined {
  const ref = policy.spec.authentication?.jwt?.jwks?.secretRef;
  if (!ref) return undefined;
  const secret = readSecretKey(index, policy.namespace, ref);
  if (!secret.ok) {
    return {
      ok: false,
      reason: secret.reason,
      message: `${secret.message}; until then every token is refused`,
    };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(secret.value);
  } catch {
    parsed = undefined;
  }
  const keys = (parsed as { keys?: unknown } | undefined)?.keys;
  if (!Array.isArray(keys) || !keys.every((k) => k !== null && typeof k === 'object' && !Array.isArray(k))) {
    return {
      ok: false,
      reason: 'InvalidSecret',
      message: `key "${ref.key}" of Secret "${ref.name}" is not a JSON Web Key Set ({"keys": [...]}); until it is, every token is refused`,
    };
  }
  // Private members never leave the controller: a key set pasted with private keys still works.
  const PRIVATE = new Set(['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']);
  const publicKeys = (keys as Record<string, unknown>[]).map((k) =>
    Object.fromEntries(Object.entries(k).filter(([name]) => !PRIVATE.has(name))),
  );
  return { ok: true, jwks: { keys: publicKeys } };
}
