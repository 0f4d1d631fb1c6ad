// What a verified token says about the caller: the Consumer it names (a known Consumer keeps its
// own team, tenant and disabled flag; an unknown name still identifies the caller), and the claim
// values forwarded upstream as headers.
import type { JWTAuthenticationIR } from '@tollgate/snapshot';
import type { JWTPayload } from 'jose';
import type { CallerIdentity, ConsumerDirectory } from '../consumers.ts';

/** A claim by name; a dotted path reads nested objects ("realm_access.roles"). */
export function claimValue(claims: JWTPayload, path: string): unknown {
  if (path in claims) return claims[path];
  let value: unknown = claims;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** A claim as one header-safe string: arrays joined by commas, objects as JSON. */
export function claimText(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  const text =
    typeof value === 'string'
      ? value
      : Array.isArray(value)
        ? value.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(',')
        : typeof value === 'object'
          ? JSON.stringify(value)
          : String(value);
  // Header values cannot carry line breaks or other control characters.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping them is the point
  const clean = text.replace(/[\u0000-\u001f\u007f]/g, '');
  return clean === '' ? undefined : clean;
}

export function callerFromClaims(
  claims: JWTPayload,
  ir: JWTAuthenticationIR,
  consumers: ConsumerDirectory,
): CallerIdentity | undefined {
  if (!ir.consumerClaim) return undefined;
  const name = claimText(claimValue(claims, ir.consumerClaim));
  if (!name) return undefined;
  const team = ir.teamClaim ? claimText(claimValue(claims, ir.teamClaim)) : undefined;
  const tenant = ir.tenantClaim ? claimText(claimValue(claims, ir.tenantClaim)) : undefined;
  const known = consumers.byName(ir.consumerNamespace, name);
  if (known) return { ...known, team: known.team ?? team, tenant: known.tenant ?? tenant };
  return {
    id: `consumer/${ir.consumerNamespace}/${name}`,
    namespace: ir.consumerNamespace,
    name,
    team,
    tenant,
    disabled: false,
  };
}

/** Headers sent upstream: every configured one (undefined ⇒ removed: clients cannot forge it). */
export function claimHeaders(
  claims: JWTPayload | undefined,
  ir: JWTAuthenticationIR,
): Array<[string, string | undefined]> {
  return (ir.forwardClaims ?? []).map(({ claim, header }) => [
    header,
    claims ? claimText(claimValue(claims, claim)) : undefined,
  ]);
}
