// Consumers: labels and the SHA-256 of each API key (the keys themselves never leave the
// controller). A key that does not resolve is skipped; the Consumer keeps its other keys. A key
// already held by an older Consumer stays with that one, so a key always identifies one Consumer.
import { createHash } from 'node:crypto';
import type { Consumer } from '@tollgate/api';
import type { ConsumerIR } from '@tollgate/snapshot';
import type { ObjectIndex } from './objects.ts';
import { compareSeniority, compareStrings } from './order.ts';
import type { Reports } from './report.ts';
import { readSecretKey } from './secrets.ts';

export const apiKeyHash = (key: string): string => createHash('sha256').update(key, 'utf8').digest('hex');

export function compileConsumers(index: ObjectIndex, reports: Reports): ConsumerIR[] {
  const holders = new Map<string, string>();
  const seniorFirst = index
    .all('Consumer')
    .filter((entry) => entry.object !== undefined)
    .sort((a, b) => compareSeniority(a.identity, b.identity));
  const out: ConsumerIR[] = [];
  for (const entry of seniorFirst) {
    const { namespace, name } = entry.identity;
    const report = reports.for({ ...entry.identity, kind: 'Consumer' });
    const spec = (entry.object as Consumer).spec;
    const hashes = new Set<string>();
    (spec.apiKeys ?? []).forEach(({ secretRef }, i) => {
      const at = `spec.apiKeys[${i}].secretRef`;
      const secret = readSecretKey(index, namespace, secretRef);
      if (!secret.ok) {
        report.unresolved(secret.reason, `${at}: ${secret.message} (the key is skipped)`);
        return;
      }
      const hash = apiKeyHash(secret.value);
      const holder = holders.get(hash);
      if (holder !== undefined && holder !== `${namespace}/${name}`) {
        report.unresolved(
          'DuplicateAPIKey',
          `${at}: the key in Secret "${secretRef.name}" (key "${secretRef.key}") is already used by the older Consumer ${holder}, so it is not accepted here; give this Consumer its own key`,
        );
        return;
      }
      holders.set(hash, `${namespace}/${name}`);
      hashes.add(hash);
    });
    out.push({
      id: `consumer/${namespace}/${name}`,
      namespace,
      name,
      ...(spec.team === undefined ? {} : { team: spec.team }),
      ...(spec.tenant === undefined ? {} : { tenant: spec.tenant }),
      apiKeyHashes: [...hashes].sort(),
      labels: { ...(entry.object as Consumer).metadata.labels },
      ...(spec.disabled ? { disabled: true as const } : {}),
    });
  }
  return out.sort((a, b) => compareStrings(a.id, b.id));
}
