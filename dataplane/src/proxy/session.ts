// Session persistence across a rule's weighted backends (A/B tests, blue/green with sessions): a
// client first gets a backend by weight and a token naming it (a cookie, or a response header it
// echoes); later requests carrying the token go to the same backend while it still has weight.
// With type Header, a value the gateway did not issue (a user id) is hashed onto the backends by
// weight, so the same user lands on the same side without any state.
import type { IncomingHttpHeaders } from 'node:http';
import type { SessionPersistenceIR } from '@tollgate/snapshot';
import { cookieValue, hash32, type UpstreamCluster } from '../upstream/index.ts';

export interface SessionChoice {
  cluster: UpstreamCluster | undefined;
  /** A response header to set so the client keeps its backend (name, value). */
  set?: [string, string];
}

interface Candidate {
  cluster: UpstreamCluster;
  weight: number;
  token: string;
}

/** A short, stable token for a backend: the same on every data plane and across snapshots. */
export function sessionToken(clusterId: string): string {
  return hash32(clusterId).toString(36) + hash32(clusterId, 1).toString(36);
}

export class SessionPicker {
  readonly #ir: SessionPersistenceIR;
  readonly #byToken = new Map<string, Candidate>();
  readonly #candidates: Candidate[];
  readonly #byWeight: () => UpstreamCluster | undefined;
  readonly #cookieSuffix: string;
  readonly #secureCookieSuffix: string;

  constructor(
    ir: SessionPersistenceIR,
    backends: ReadonlyArray<{ cluster: UpstreamCluster; weight: number }>,
    byWeight: () => UpstreamCluster | undefined,
  ) {
    this.#ir = ir;
    this.#byWeight = byWeight;
    this.#candidates = backends
      .filter((b) => b.weight > 0)
      .map((b) => ({ ...b, token: sessionToken(b.cluster.id) }));
    for (const candidate of this.#candidates) this.#byToken.set(candidate.token, candidate);
    this.#cookieSuffix = `; Path=/; HttpOnly; SameSite=Lax${ir.maxAgeSeconds ? `; Max-Age=${ir.maxAgeSeconds}` : ''}`;
    this.#secureCookieSuffix = `${this.#cookieSuffix}; Secure`;
  }

  /** `secure`: the client came over HTTPS, so the cookie is marked Secure. */
  choose(headers: IncomingHttpHeaders, secure = false): SessionChoice {
    const { type, name } = this.#ir;
    const raw = type === 'Cookie' ? cookieValue(headers.cookie, name) : headerValue(headers[name]);
    if (raw) {
      const known = this.#byToken.get(raw);
      if (known) return { cluster: known.cluster };
      if (type === 'Header') return { cluster: this.#rendezvous(raw) };
    }
    const cluster = this.#byWeight();
    if (!cluster) return { cluster };
    const token = sessionToken(cluster.id);
    return type === 'Cookie'
      ? {
          cluster,
          set: ['set-cookie', `${name}=${token}${secure ? this.#secureCookieSuffix : this.#cookieSuffix}`],
        }
      : { cluster, set: [name, token] };
  }

  /** Weighted rendezvous hashing: each key picks the backend with the highest weighted score. */
  #rendezvous(key: string): UpstreamCluster | undefined {
    let best: Candidate | undefined;
    let bestScore = -Infinity;
    for (const candidate of this.#candidates) {
      const u = (hash32(`${key}\u0000${candidate.token}`) + 1) / 4_294_967_297;
      const score = -candidate.weight / Math.log(u);
      if (score > bestScore) {
        bestScore = score;
        best = candidate;
      }
    }
    return best?.cluster;
  }
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
