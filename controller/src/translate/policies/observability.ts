// The `observability` section of a Policy compiled for the snapshot. The section is carried even
// when it turns recording off, so a Route's `recordContent: false` overrides its Namespace's true.
import type { ObservabilityPolicyIR } from '@tollgate/snapshot';
import type { PolicyIR } from './attachment.ts';

/** The section as the snapshot carries it; undefined when the Policy does not set it. */
export function compileObservability(policy: PolicyIR): ObservabilityPolicyIR | undefined {
  const spec = policy.spec.observability;
  if (!spec) return undefined;
  return { from: policy.id, recordContent: spec.recordContent === true };
}
