// Policies: for now only their attachment. Each targetRef is resolved in the Policy's namespace
// and reported per target in status.ancestors (GEP-713); the snapshot carries accepted Policies
// with their resolved targets for the policy features to build on. (Group/kind combinations are
// checked by the schema.)
import type { Condition, Policy, PolicyAncestorStatus, PolicyTargetRef, Route } from '@tollgate/api';
import type { ObjectIndex } from '../objects.ts';
import { compareStrings } from '../order.ts';
import type { Reports } from '../report.ts';

export const CONTROLLER_NAME = 'tollgate.dev/controller';

export type PolicyTargetIR = {
  group: string;
  kind: PolicyTargetRef['kind'];
  namespace: string;
  name: string;
  /** A Route rule name, when the Policy attaches to one rule only. */
  sectionName?: string;
};

export type PolicyIR = {
  id: string;
  namespace: string;
  name: string;
  targets: PolicyTargetIR[];
  spec: Policy['spec'];
};

type TargetOutcome = { ok: true } | { ok: false; reason: 'TargetNotFound' | 'Invalid'; message: string };

export function compilePolicies(index: ObjectIndex, reports: Reports): PolicyIR[] {
  const out: PolicyIR[] = [];
  for (const entry of index.all('Policy')) {
    if (!entry.object) continue;
    const { namespace, name, generation } = entry.identity;
    const report = reports.for({ ...entry.identity, kind: 'Policy' });
    const policy = entry.object;
    const targets: PolicyTargetIR[] = [];
    const ancestors: PolicyAncestorStatus[] = [];
    policy.spec.targetRefs.forEach((ref, i) => {
      const target: PolicyTargetIR = { group: ref.group, kind: ref.kind, namespace, name: ref.name };
      if (ref.sectionName !== undefined) target.sectionName = ref.sectionName;
      const outcome = resolveTarget(ref, namespace, index);
      const condition: Condition = outcome.ok
        ? { type: 'Accepted', status: 'True', reason: 'Accepted', message: `Attached to ${describe(target)}` }
        : { type: 'Accepted', status: 'False', reason: outcome.reason, message: outcome.message };
      if (generation !== undefined) condition.observedGeneration = generation;
      ancestors.push({
        ancestorRef: { ...target },
        controllerName: CONTROLLER_NAME,
        conditions: [condition],
      });
      if (outcome.ok) targets.push(target);
      else report.unresolved(outcome.reason, `spec.targetRefs[${i}]: ${outcome.message}`);
    });
    report.ancestors = ancestors;
    if (targets.length === 0) {
      report.reject(
        'TargetNotFound',
        'No target of this Policy exists, so it applies to nothing; fix spec.targetRefs',
      );
      continue;
    }
    out.push({ id: `policy/${namespace}/${name}`, namespace, name, targets, spec: policy.spec });
  }
  return out.sort((a, b) => compareStrings(a.id, b.id));
}

function describe(target: PolicyTargetIR): string {
  const rule = target.sectionName === undefined ? '' : ` rule "${target.sectionName}"`;
  return `${target.kind} "${target.name}"${rule}`;
}

function resolveTarget(ref: PolicyTargetRef, namespace: string, index: ObjectIndex): TargetOutcome {
  if (ref.kind === 'Namespace') {
    if (ref.name === namespace) return { ok: true };
    return {
      ok: false,
      reason: 'Invalid',
      message: `a Policy can only target its own namespace "${namespace}", not "${ref.name}"; create the Policy in namespace "${ref.name}"`,
    };
  }
  const entry = index.get(ref.kind, namespace, ref.name);
  if (!entry) {
    return {
      ok: false,
      reason: 'TargetNotFound',
      message: `${ref.kind} "${ref.name}" not found in namespace "${namespace}"; create it or fix the name`,
    };
  }
  // A rule name can only be checked on a Route that parses; an invalid Route reports itself.
  if (ref.sectionName !== undefined && entry.object) {
    const rules = (entry.object as Route).spec.rules;
    if (!rules.some((rule) => rule.name === ref.sectionName)) {
      const names = rules.flatMap((rule) => (rule.name === undefined ? [] : [`"${rule.name}"`]));
      const has = names.length > 0 ? `its rules are ${names.join(', ')}` : 'none of its rules has a name';
      return {
        ok: false,
        reason: 'TargetNotFound',
        message: `Route "${ref.name}" in namespace "${namespace}" has no rule named "${ref.sectionName}" (${has}); fix sectionName or name the rule`,
      };
    }
  }
  return { ok: true };
}
