// The compiled `observability` section of a route entry's policy: what the data plane may record
// about the entry's requests beyond metrics and spans.
import { z } from 'zod';

export const ObservabilityPolicyIR = z.object({
  /** The Policy the section came from (`namespace/name`). */
  from: z.string(),
  /** Prompts and completions (guardrail-masked) on the AI attempt spans. */
  recordContent: z.boolean(),
});
export type ObservabilityPolicyIR = z.infer<typeof ObservabilityPolicyIR>;
