// What the status writer writes, as pure functions: the object's current status (as read from the
// API server) plus what translation and the rollout say → the status to write back.
//
// - Only our condition types (Accepted, ResolvedRefs, Programmed) are ours: conditions of other
//   types, written by other tools, stay as they are and where they are.
// - lastTransitionTime moves only when a condition's status changes (True/False/Unknown), as
//   metav1.Condition means it; a new reason or message keeps the time.
// - Policies (GEP-713): status.ancestors holds one entry per target and controller. Entries of
//   other controllers stay untouched; ours are replaced in place, added at the end, or removed when
//   the target is no longer referenced. (A Policy has no top-level conditions in its schema.)
import type { Condition, PolicyAncestorStatus } from '@tollgate/api';
import { canonicalJson } from '@tollgate/snapshot';
import { z } from 'zod';

export const CONTROLLER_NAME = 'tollgate.dev/controller';
export const OUR_CONDITION_TYPES: ReadonlySet<string> = new Set(['Accepted', 'ResolvedRefs', 'Programmed']);
/** The CRD's limit on status.ancestors. */
const MAX_ANCESTORS = 16;

export type StatusKind = 'Route' | 'AIProvider' | 'Consumer' | 'Policy';

/** What we want an object's status to say (ObjectStatusView from the controller fits). */
export interface DesiredStatus {
  ref: { kind: StatusKind; namespace: string; name: string };
  generation?: number;
  conditions: Condition[];
  /** Policies only. */
  ancestors?: PolicyAncestorStatus[];
}

/** A condition as found on the API server: ours have the Condition shape, others' may not. */
const StoredCondition = z.looseObject({
  type: z.string(),
  status: z.string().optional(),
  lastTransitionTime: z.string().optional(),
});
type StoredCondition = z.infer<typeof StoredCondition>;

const StoredAncestor = z.looseObject({
  ancestorRef: z.looseObject({}).optional(),
  controllerName: z.string().optional(),
  conditions: z.array(StoredCondition).optional(),
});
type StoredAncestor = z.infer<typeof StoredAncestor>;

/** The part of an object the writer reads: who it is, its version, its status. */
export const StoredObject = z.looseObject({
  apiVersion: z.string(),
  kind: z.string(),
  metadata: z.looseObject({
    name: z.string(),
    namespace: z.string().optional(),
    uid: z.string().optional(),
    resourceVersion: z.string(),
    generation: z.number().optional(),
  }),
  status: z
    .looseObject({
      conditions: z.array(StoredCondition).optional(),
      ancestors: z.array(StoredAncestor).optional(),
    })
    .optional(),
});
export type StoredObject = z.infer<typeof StoredObject>;
export type StoredStatus = NonNullable<StoredObject['status']>;

/** Our condition with the transition time it should carry, given the one it replaces. */
function transitioned(desired: Condition, previous: StoredCondition | undefined, now: string): Condition {
  const keepTime = previous?.status === desired.status && previous.lastTransitionTime;
  const out: Condition = {
    type: desired.type,
    status: desired.status,
    reason: desired.reason,
    message: desired.message,
    lastTransitionTime: keepTime ? previous.lastTransitionTime! : now,
  };
  if (desired.observedGeneration !== undefined) out.observedGeneration = desired.observedGeneration;
  return out;
}

/**
 * Our conditions merged into a stored list: ours replace ours in place (new ones are appended in
 * our order), ours that we no longer report are dropped, everyone else's stay.
 */
export function mergeConditions(
  stored: readonly StoredCondition[] | undefined,
  ours: readonly Condition[],
  now: string,
): Array<StoredCondition | Condition> {
  const byType = new Map(ours.map((c) => [c.type, c]));
  const placed = new Set<string>();
  const out: Array<StoredCondition | Condition> = [];
  for (const condition of stored ?? []) {
    const mine = byType.get(condition.type);
    if (mine && !placed.has(condition.type)) {
      out.push(transitioned(mine, condition, now));
      placed.add(condition.type);
    } else if (!OUR_CONDITION_TYPES.has(condition.type)) {
      out.push(condition);
    }
  }
  for (const condition of ours) {
    if (!placed.has(condition.type)) out.push(transitioned(condition, undefined, now));
  }
  return out;
}

const refKey = (ref: unknown): string => canonicalJson(ref ?? {});

/** Our ancestor entries merged into the stored list (see the top of this file). */
export function mergeAncestors(
  stored: readonly StoredAncestor[] | undefined,
  ours: readonly PolicyAncestorStatus[],
  now: string,
): StoredAncestor[] {
  const others = (stored ?? []).filter((a) => a.controllerName !== CONTROLLER_NAME);
  const room = Math.max(0, MAX_ANCESTORS - others.length);
  const wanted = ours.slice(0, room);
  const previous = new Map(
    (stored ?? []).filter((a) => a.controllerName === CONTROLLER_NAME).map((a) => [refKey(a.ancestorRef), a]),
  );
  const merged = new Map(
    wanted.map((a) => {
      const before = previous.get(refKey(a.ancestorRef));
      return [
        refKey(a.ancestorRef),
        {
          ancestorRef: a.ancestorRef,
          controllerName: CONTROLLER_NAME,
          conditions: mergeConditions(before?.conditions, a.conditions, now),
        } as StoredAncestor,
      ];
    }),
  );
  const out: StoredAncestor[] = [];
  for (const entry of stored ?? []) {
    if (entry.controllerName !== CONTROLLER_NAME) out.push(entry);
    else {
      const key = refKey(entry.ancestorRef);
      const replacement = merged.get(key);
      if (replacement) {
        out.push(replacement);
        merged.delete(key);
      }
    }
  }
  out.push(...merged.values());
  return out;
}

/** The status to write for `desired`, given what is stored. */
export function nextStatus(
  stored: StoredStatus | undefined,
  desired: DesiredStatus,
  now: string,
): StoredStatus {
  const base: StoredStatus = { ...(stored ?? {}) };
  if (desired.ref.kind === 'Policy') {
    const ancestors = mergeAncestors(stored?.ancestors, desired.ancestors ?? [], now);
    if (ancestors.length > 0) base.ancestors = ancestors;
    else delete base.ancestors;
    return base;
  }
  base.conditions = mergeConditions(stored?.conditions, desired.conditions, now);
  return base;
}

/** Equal as JSON, key order aside (the API server does not keep ours). */
export function sameStatus(a: StoredStatus | undefined, b: StoredStatus | undefined): boolean {
  return canonicalJson(a ?? {}) === canonicalJson(b ?? {});
}

/** A condition of ours that is False, with where it sits (ancestor target for Policies). */
export interface Failure {
  type: string;
  reason: string;
  message: string;
}

/** Our False Accepted/ResolvedRefs conditions in a status (each Policy ancestor's included). */
export function failuresOf(status: StoredStatus | undefined): Failure[] {
  const conditions = [
    ...(status?.conditions ?? []),
    ...(status?.ancestors ?? [])
      .filter((a) => a.controllerName === CONTROLLER_NAME)
      .flatMap((a) => a.conditions ?? []),
  ];
  return conditions
    .filter((c) => (c.type === 'Accepted' || c.type === 'ResolvedRefs') && c.status === 'False')
    .map((c) => ({ type: c.type, reason: String(c.reason ?? ''), message: String(c.message ?? '') }));
}

/** Failures in `after` that `before` did not have (same type, reason and message). */
export function newFailures(before: StoredStatus | undefined, after: StoredStatus | undefined): Failure[] {
  const seen = new Set(failuresOf(before).map((f) => canonicalJson(f)));
  return failuresOf(after).filter((f) => !seen.has(canonicalJson(f)));
}
