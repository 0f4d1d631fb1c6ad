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
  /** The compiled virtual hosts, in snapshot order. */
  readonly virtualHosts: readonly CompiledVirtualHost<T>[];
}

export type AttachFn<T> = (entry: RouteEntryIR, vhost: VirtualHostIR) => T;

export interface RouterOptions<T = unknown> {
  /** Other names an entry's Exact model match accepts (aliases of that model at its AI providers). */
  modelAliases?(entry: RouteEntryIR): readonly string[];
  /**
   * A router compiled from an earlier snapshot. An entry whose IR is the very same object as one
   * of its entries' is taken over as compiled (its attached data included), and a virtual host
   * whose entries all are, in the same order, is taken over with its path index. Pass it only when
   * everything `attach` and `modelAliases` read besides the entry itself is unchanged.
   */
  previous?: Router<T>;
}

/**
 * Compiles the snapshot's virtual hosts. Throws on anything that cannot be compiled (an invalid
 * regular expression), so the snapshot is rejected as a whole.
 */
export function compileRouter(snapshot: Pick<Snapshot, 'virtualHosts'>): Router<undefined>;
export function compileRouter<T>(
  snapshot: Pick<Snapshot, 'virtualHosts'>,
  attach: AttachFn<T>,
  options?: RouterOptions<T>,
): Router<T>;
export function compileRouter<T>(
  snapshot: Pick<Snapshot, 'virtualHosts'>,
  attach?: AttachFn<T>,
  options: RouterOptions<T> = {},
): Router<T> {
  const tiers = new HostTiers<CompiledVirtualHost<T>>();
  const virtualHosts: CompiledVirtualHost<T>[] = [];
  const previous = options.previous ? indexRouter(options.previous) : undefined;
  let entryCount = 0;
  for (const vhost of snapshot.virtualHosts) {
    const unchanged = previous?.hosts
      .get(vhost.hostname)
      ?.find((old) => sameEntries(old.entries, vhost.routes));
    if (unchanged) {
      entryCount += unchanged.entries.length;
      tiers.add(vhost.hostname, unchanged);
      virtualHosts.push(unchanged);
      continue;
    }
    const paths = new PathIndex();
    const entries = vhost.routes.map((ir, index): CompiledEntry<T> => {
      try {
        paths.add(index, ir.match.path.type, ir.match.path.value);
        const compiled = previous?.entries.get(ir);
        if (compiled) return compiled;
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
    const compiled = { hostname: vhost.hostname, entries, paths };
    tiers.add(vhost.hostname, compiled);
    virtualHosts.push(compiled);
  }

  return {
    entryCount,
    virtualHosts,
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

function indexRouter<T>(router: Router<T>): {
  entries: Map<RouteEntryIR, CompiledEntry<T>>;
  hosts: Map<string, CompiledVirtualHost<T>[]>;
} {
  const entries = new Map<RouteEntryIR, CompiledEntry<T>>();
  const hosts = new Map<string, CompiledVirtualHost<T>[]>();
  for (const vhost of router.virtualHosts) {
    for (const entry of vhost.entries) entries.set(entry.ir, entry);
    const list = hosts.get(vhost.hostname);
    if (list) list.push(vhost);
    else hosts.set(vhost.hostname, [vhost]);
  }
  return { entries, hosts };
}

function sameEntries<T>(compiled: readonly CompiledEntry<T>[], routes: readonly RouteEntryIR[]): boolean {
  if (compiled.length !== routes.length) return false;
  for (let i = 0; i < routes.length; i++) if (compiled[i]!.ir !== routes[i]) return false;
  return true;
}
