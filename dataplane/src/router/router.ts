// The router, compiled once per snapshot: host tiers → per-host path index → conditions.
import { setImmediate } from 'node:timers/promises';
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
  return runToEnd(buildRouter(snapshot, attach, options));
}

/** Entries compiled between two yields of `buildRouter` (~2 ms of work at 10,000 routes). */
export const ROUTER_SLICE_ENTRIES = 250;

/**
 * compileRouter as a generator that yields after every `sliceEntries` entries, so a caller can
 * let the event loop run between slices (`runSliced`). The router exists only once
 * the generator returns it: nothing can match against a half-built table.
 */
export function* buildRouter<T>(
  snapshot: Pick<Snapshot, 'virtualHosts'>,
  attach?: AttachFn<T>,
  options: RouterOptions = {},
  sliceEntries = ROUTER_SLICE_ENTRIES,
): Generator<void, Router<T>, void> {
  const tiers = new HostTiers<CompiledVirtualHost<T>>();
  let entryCount = 0;
  let sinceYield = 0;
  for (const vhost of snapshot.virtualHosts) {
    const paths = new PathIndex();
    const entries: CompiledEntry<T>[] = [];
    for (const [index, ir] of vhost.routes.entries()) {
      try {
        paths.add(index, ir.match.path.type, ir.match.path.value);
        entries.push({
          ir,
          data: attach ? attach(ir, vhost) : (undefined as T),
          conditions: compileConditions(ir.match, ir.match.model ? options.modelAliases?.(ir) : undefined),
        });
      } catch (error) {
        throw new Error(`route entry ${ir.id} on host "${vhost.hostname}": ${(error as Error).message}`, {
          cause: error,
        });
      }
      if (++sinceYield >= sliceEntries) {
        sinceYield = 0;
        yield;
      }
    }
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

/** Drives a slicing generator to its end without yielding to anything. */
export function runToEnd<R>(steps: Generator<void, R, void>): R {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/** Drives a slicing generator, letting queued I/O and timers run between its slices. */
export async function runSliced<R>(steps: Generator<void, R, void>): Promise<R> {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    await setImmediate();
  }
}
