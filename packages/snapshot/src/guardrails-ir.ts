// The compiled `guardrails` section of a route entry's policy. Everything is resolved by the
// translator (per-type actions, defaults, globs kept as written); the data plane compiles the
// patterns once per snapshot.
import { z } from 'zod';

export const GuardrailPIITypeIR = z.enum([
  'email',
  'phone',
  'creditCard',
  'ssn',
  'iban',
  'ipAddress',
  'nationalId',
  'secret',
]);
export type GuardrailPIITypeIR = z.infer<typeof GuardrailPIITypeIR>;

/** One kind of sensitive data looked for, with what to do on a finding. Sorted by type. */
export const GuardrailPIIRuleIR = z.object({
  type: GuardrailPIITypeIR,
  action: z.enum(['mask', 'block']),
  /** phone only: countries whose national formats count (ISO 3166-1 alpha-2); absent ⇒ US. */
  regions: z.array(z.string()).optional(),
});
export type GuardrailPIIRuleIR = z.infer<typeof GuardrailPIIRuleIR>;

export const GuardrailsIR = z.object({
  /** The Policy the section came from (`policy/<ns>/<name>`). */
  from: z.string(),
  pii: z.array(GuardrailPIIRuleIR).optional(),
  /** ECMAScript patterns, compiled by the data plane with the `u` flag. */
  denyPatterns: z.array(z.string()).optional(),
  promptInjection: z
    .object({ action: z.enum(['block', 'log']), threshold: z.number().int().min(1) })
    .optional(),
  maxInputTokens: z.number().int().min(1).optional(),
  /** Exact names or globs (`*` any run of characters). */
  allowedModels: z.array(z.string()).optional(),
  responses: z
    .object({
      pii: z.array(GuardrailPIIRuleIR).optional(),
      /** The denyPatterns above are searched for in responses too. */
      denyPatterns: z.literal(true).optional(),
    })
    .optional(),
});
export type GuardrailsIR = z.infer<typeof GuardrailsIR>;
