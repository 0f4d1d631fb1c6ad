// Consumers by API-key hash, built once per snapshot. A lookup hashes the presented key and reads
// a Map: the comparison is on SHA-256 digests of the key, so its timing tells an attacker nothing
// usable about the key itself (learning a prefix of a digest does not help produce a key with that
// digest), which is why no constant-time comparison is needed here.
import { createHash } from 'node:crypto';
import type { ConsumerIR } from '@tollgate/snapshot';

/** Who is calling, as the rest of the request sees it. */
export interface CallerIdentity {
  /** `consumer/<ns>/<name>` */
  readonly id: string;
  readonly namespace: string;
  readonly name: string;
  readonly team: string | undefined;
  readonly tenant: string | undefined;
  readonly disabled: boolean;
}

export const hashAPIKey = (key: string): string => createHash('sha256').update(key, 'utf8').digest('hex');

export class ConsumerDirectory {
  readonly #byHash = new Map<string, CallerIdentity>();
  readonly #byId = new Map<string, CallerIdentity>();

  constructor(consumers: readonly ConsumerIR[]) {
    for (const c of consumers) {
      const identity: CallerIdentity = {
        id: c.id,
        namespace: c.namespace,
        name: c.name,
        team: c.team,
        tenant: c.tenant,
        disabled: c.disabled === true,
      };
      this.#byId.set(c.id, identity);
      // The translator gives each hash to one Consumer; the first wins should a snapshot not.
      for (const hash of c.apiKeyHashes) if (!this.#byHash.has(hash)) this.#byHash.set(hash, identity);
    }
  }

  byKey(key: string): CallerIdentity | undefined {
    return this.#byHash.get(hashAPIKey(key));
  }

  /** The Consumer `namespace/name` (JWT claims name consumers). */
  byName(namespace: string, name: string): CallerIdentity | undefined {
    return this.#byId.get(`consumer/${namespace}/${name}`);
  }
}
