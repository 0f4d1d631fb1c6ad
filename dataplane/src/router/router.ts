// The router, compiled once per snapshot: host tiers → per-host path index → conditions.
import type { RouteEntryIR, Snapshot, VirtualHostIR } from '@tollgate/snapshot';
import {
  type CompiledConditions,
  compileConditions,
  conditionsHold,
  type MatchInput,
  QueryView,
} from './conditions.ts';
import { HostTiers, normalizeHost } from './host.ts';
import { type MatchTrace, PathIndex } from './path-index.ts';

export interface CompiledEntry<T> {
  readonly ir: RouteEntryIR;
  /** What the caller attached to this entry at compile time (its forwarding plan). */
  readonly data: T;
  readonly conditions: CompiledConditions;
}

export interface CompiledVirtualHost<T> {
  readonly hostname: string;
  readonly entries: readonly CompiledEntry<T>[];
  readonly paths: PathIndex;
}

export interface RouteMatch<T> {
  vhost: CompiledVirtualHost<T>;
  entry: CompiledEntry<T>;
  /** The path condition that matched (a PathPrefix value is what ReplacePrefixMatch replaces). */
  pathMatch: RouteEntryIR['match']['path'];
}

export interface Router<T> {
  match(input: MatchInput, trace?: MatchTrace): RouteMatch<T> | undefined;
  readonly entryCount: number;
}

export type AttachFn<T> = (entry: RouteEntryIR, vhost: VirtualHostIR) => T;

export interface RouterOptions {
  /** Other names an entry's Exact model match accepts (aliases of that model at its AI providers). */
  modelAliases?(entry: RouteEntryIR): readonly string[];
}

/**
 * Compiles the snapshot's virtual hosts. Throws on anything that cannot be compiled (an invalid
 * regular expression), so the snapshot is rejected as a whole.
 */
export function compileRouter(snapshot: Pick<Snapshot, 'virtualHosts'>): Router<undefined>;
export function compileRouter<T>(
  snapshot: Pick<Snapshot, 'virtualHosts'>,
  attach: AttachFn<T>,
  options?: RouterOptions,
): Router<T>;
export function compileRouter<T>(
  snapshot: Pick<Snapshot, 'virtualHosts'>,
  attach?: AttachFn<T>,
  options: RouterOptions = {},
): Router<T> {
  const tiers = new HostTiers<CompiledVirtualHost<T>>();
  let entryCount = 0;
  for (const vhost of snapshot.virtualHosts) {
    const paths = new PathIndex();
    const entries = vhost.routes.map((ir, index): CompiledEntry<T> => {
      try {
        paths.add(index, ir.match.path.type, ir.match.path.value);
        return {
          ir,
          data: attach ? attach(ir, vhost) : (undefined as T),
          conditions: compileConditions(ir.match, ir.match.model ? options.modelAliases?.(ir) : undefined),
        };
      } catch (error) {
        throw new Error(`route entry ${ir.id} on host "${vhost.hostname}": ${(error as Error).message}`, {
          cause: error,
        });
      }
    });
    entryCount += entries.length;
    tiers.add(vhost.hostname, { hostname: vhost.hostname, entries, paths });
  }

  return {
    entryCount,
    match(input, trace) {
      const host = normalizeHost(input.host);
      const query = new QueryView(input.query);
      return tiers.find(host, (vhost) => {
        const { entries } = vhost;
        const index = vhost.paths.find(
          input.path,
          (i) => conditionsHold(entries[i]!.conditions, input, query),
          trace,
        );
        if (index === -1) return undefined;
        const entry = entries[index]!;
        return { vhost, entry, pathMatch: entry.ir.match.path };
      });
    },
  };
}
