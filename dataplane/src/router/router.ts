// The router, compiled once per snapshot: host tiers → per-host path index → conditions.
import {
  type RouteEntryIR,
  runToEnd,
  SliceClock,
  type Snapshot,
  type VirtualHostIR,
} from '@tollgate/snapshot';
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
  return runToEnd(buildRouter(snapshot, attach, options));
}

/**
 * compileRouter as a sequence of slices: the generator yields whenever it has worked for
 * `sliceMs` without a pause, and returns the router (runToEnd / runInSlices drive it).
 */
export function* buildRouter<T>(
  snapshot: Pick<Snapshot, 'virtualHosts'>,
  attach: AttachFn<T> | undefined,
  options: RouterOptions<T> = {},
  sliceMs = Number.POSITIVE_INFINITY,
): Generator<void, Router<T>> {
  const clock = new SliceClock(sliceMs);
  const tiers = new HostTiers<CompiledVirtualHost<T>>();
  const virtualHosts: CompiledVirtualHost<T>[] = [];
  const previousHosts = new Map<string, CompiledVirtualHost<T>[]>();
  for (const vhost of options.previous?.virtualHosts ?? []) {
    const list = previousHosts.get(vhost.hostname);
    if (list) list.push(vhost);
    else previousHosts.set(vhost.hostname, [vhost]);
  }
  let entryCount = 0;
  for (const vhost of snapshot.virtualHosts) {
    const candidates = previousHosts.get(vhost.hostname) ?? [];
    const reusable = yield* reusableEntries(candidates, vhost.routes, clock);
    if (reusable.whole) {
      entryCount += reusable.whole.entries.length;
      tiers.add(vhost.hostname, reusable.whole);
      virtualHosts.push(reusable.whole);
      continue;
    }
    const paths = new PathIndex();
    const entries: CompiledEntry<T>[] = [];
    for (const [index, ir] of vhost.routes.entries()) {
      try {
        paths.add(index, ir.match.path.type, ir.match.path.value);
        entries.push(
          reusable.at(index, ir) ?? {
            ir,
            data: attach ? attach(ir, vhost) : (undefined as T),
            conditions: compileConditions(ir.match, ir.match.model ? options.modelAliases?.(ir) : undefined),
          },
        );
      } catch (error) {
        throw new Error(`route entry ${ir.id} on host "${vhost.hostname}": ${(error as Error).message}`, {
          cause: error,
        });
      }
      if (clock.due(index)) yield;
    }
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

interface Reusable<T> {
  /** A previous virtual host with exactly these entries, to take over whole. */
  whole?: CompiledVirtualHost<T>;
  /** The previous compiled entry of the same IR object, for the entry at `index`. */
  at(index: number, ir: RouteEntryIR): CompiledEntry<T> | undefined;
}

const NOTHING: Reusable<never> = { at: () => undefined };

/**
 * Which compiled entries of the previous virtual hosts of this hostname can be kept. Usually there
 * is one, and most entries are where they were: the unchanged head and tail are found by comparing
 * in place, and only the entries between them are looked up.
 */
function* reusableEntries<T>(
  candidates: readonly CompiledVirtualHost<T>[],
  routes: readonly RouteEntryIR[],
  clock: SliceClock,
): Generator<void, Reusable<T>> {
  if (candidates.length === 0) return NOTHING;
  if (candidates.length > 1) {
    // The IR allows several virtual hosts per hostname; rare enough to look everything up.
    const whole = candidates.find(
      (c) => c.entries.length === routes.length && sameFrom(c.entries, routes, 0),
    );
    if (whole) return { whole, at: () => undefined };
    const byIR = new Map<RouteEntryIR, CompiledEntry<T>>();
    for (const c of candidates) for (const e of c.entries) byIR.set(e.ir, e);
    return { at: (_, ir) => byIR.get(ir) };
  }
  const old = candidates[0]!.entries;
  const shortest = Math.min(old.length, routes.length);
  let head = 0;
  while (head < shortest && old[head]!.ir === routes[head]) if (clock.due(head++)) yield;
  if (head === old.length && head === routes.length) return { whole: candidates[0]!, at: () => undefined };
  let tail = 0;
  while (tail < shortest - head && old[old.length - 1 - tail]!.ir === routes[routes.length - 1 - tail]) {
    if (clock.due(tail++)) yield;
  }
  const middle = new Map<RouteEntryIR, CompiledEntry<T>>();
  for (let i = head; i < old.length - tail; i++) middle.set(old[i]!.ir, old[i]!);
  const shift = old.length - routes.length;
  return {
    at(index, ir) {
      if (index < head) return old[index];
      if (index >= routes.length - tail) return old[index + shift];
      return middle.get(ir);
    },
  };
}

function sameFrom<T>(
  compiled: readonly CompiledEntry<T>[],
  routes: readonly RouteEntryIR[],
  from: number,
): boolean {
  for (let i = from; i < routes.length; i++) if (compiled[i]!.ir !== routes[i]) return false;
  return true;
}
