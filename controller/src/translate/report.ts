// Status as a by-product of translation: every stage that looks at an object records here what
// was wrong with it, and the report turns that into the Accepted and ResolvedRefs conditions.
import type { Condition, PolicyAncestorStatus } from '@tollgate/api';
import type { ObjectIdentity } from './objects.ts';
import { compareStrings } from './order.ts';

export type ReportedKind = 'Route' | 'AIProvider' | 'Consumer' | 'Policy';

export type { PolicyAncestorStatus };

export interface ObjectStatusReport {
  ref: { kind: ReportedKind; namespace: string; name: string };
  /** metadata.generation of the object the conditions were computed from. */
  generation?: number;
  /** Accepted and ResolvedRefs (Programmed is added later by the status layer). */
  conditions: Condition[];
  /** Policies only (GEP-713). */
  ancestors?: PolicyAncestorStatus[];
}

export interface Problem {
  reason: string;
  message: string;
}

/** Longest message a condition may carry (metav1.Condition allows 32768). */
const MAX_MESSAGE = 32_000;

export function joinMessages(messages: readonly string[]): string {
  const text = messages.join('; ');
  return text.length <= MAX_MESSAGE ? text : `${text.slice(0, MAX_MESSAGE - 1)}…`;
}

/** Lists at most `limit` items, then "and N more". */
export function listSome(items: readonly string[], limit = 8): string {
  if (items.length <= limit) return items.join(', ');
  return `${items.slice(0, limit).join(', ')} and ${items.length - limit} more`;
}

export class ObjectReport {
  readonly identity: ObjectIdentity & { kind: ReportedKind };
  readonly #rejections: Problem[] = [];
  readonly #unresolved: Problem[] = [];
  readonly #notes: Problem[] = [];
  #refsChecked = true;
  ancestors: PolicyAncestorStatus[] | undefined;

  constructor(identity: ObjectIdentity & { kind: ReportedKind }) {
    this.identity = identity;
  }

  /** The object (or all of it that matters) is left out of the snapshot: Accepted=False. */
  reject(reason: string, message: string): void {
    this.#rejections.push({ reason, message });
  }

  /** A reference did not resolve: ResolvedRefs=False. */
  unresolved(reason: string, message: string): void {
    this.#unresolved.push({ reason, message });
  }

  /** Something the user should know about an accepted object; the first note's reason becomes Accepted's. */
  note(reason: string, message: string): void {
    this.#notes.push({ reason, message });
  }

  /** The spec could not be read, so references were never looked at: ResolvedRefs=Unknown. */
  refsNotChecked(): void {
    this.#refsChecked = false;
  }

  get accepted(): boolean {
    return this.#rejections.length === 0;
  }

  /** The first rejection, for messages on objects that refer to this one. */
  get rejection(): Problem | undefined {
    return this.#rejections[0];
  }

  toStatus(): ObjectStatusReport {
    const { kind, namespace, name, generation } = this.identity;
    const condition = (
      type: string,
      status: Condition['status'],
      reason: string,
      message: string,
    ): Condition => {
      const out: Condition = { type, status, reason, message };
      if (generation !== undefined) out.observedGeneration = generation;
      return out;
    };
    const notes = this.#notes.map((n) => n.message);
    const accepted = this.accepted
      ? condition(
          'Accepted',
          'True',
          this.#notes[0]?.reason ?? 'Accepted',
          joinMessages([`${kind} is valid and in the snapshot`, ...notes]),
        )
      : condition(
          'Accepted',
          'False',
          this.#rejections[0]!.reason,
          joinMessages([...this.#rejections.map((p) => p.message), ...notes]),
        );
    let resolved: Condition;
    if (!this.#refsChecked) {
      resolved = condition(
        'ResolvedRefs',
        'Unknown',
        'Invalid',
        'References were not checked because the spec is invalid (see the Accepted condition)',
      );
    } else if (this.#unresolved.length > 0) {
      resolved = condition(
        'ResolvedRefs',
        'False',
        this.#unresolved[0]!.reason,
        joinMessages(this.#unresolved.map((p) => p.message)),
      );
    } else {
      resolved = condition('ResolvedRefs', 'True', 'ResolvedRefs', 'All references resolved');
    }
    // Key order is the order a reader wants: who, which generation, then what.
    const report: ObjectStatusReport = {
      ref: { kind, namespace, name },
      ...(generation === undefined ? {} : { generation }),
      conditions: [accepted, resolved],
      ...(this.ancestors ? { ancestors: this.ancestors } : {}),
    };
    return report;
  }
}

/** One report per Tollgate object, handed out by key and listed sorted by kind/namespace/name. */
export class Reports {
  readonly #byKey = new Map<string, ObjectReport>();

  for(identity: ObjectIdentity & { kind: ReportedKind }): ObjectReport {
    const key = `${identity.kind}/${identity.namespace}/${identity.name}`;
    let report = this.#byKey.get(key);
    if (!report) {
      report = new ObjectReport(identity);
      this.#byKey.set(key, report);
    }
    return report;
  }

  statuses(): ObjectStatusReport[] {
    return [...this.#byKey.values()]
      .sort(
        (a, b) =>
          compareStrings(a.identity.kind, b.identity.kind) ||
          compareStrings(a.identity.namespace, b.identity.namespace) ||
          compareStrings(a.identity.name, b.identity.name),
      )
      .map((report) => report.toStatus());
  }
}
