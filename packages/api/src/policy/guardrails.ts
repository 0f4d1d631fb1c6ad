// Policy section `guardrails`: checks on the content of AI requests before they reach a provider.
import { z } from 'zod';
import { listSet, withRules } from '../cel.ts';

export const piiTypes = ['email', 'phone', 'creditCard', 'ssn', 'iban', 'ipAddress'] as const;

export const PIIGuardrail = z
  .object({
    types: listSet(z.array(z.enum(piiTypes)).min(1).max(8)).meta({
      description:
        'Kinds of personal data looked for in prompts: email, phone, creditCard, ssn, iban, ipAddress.',
    }),
    action: z.enum(['mask', 'block']).default('mask').meta({
      description:
        'mask replaces each finding with a placeholder ("<EMAIL>"); block refuses the request (400).',
    }),
  })
  .meta({ description: 'Detects personal data in prompts.' });
export type PIIGuardrail = z.infer<typeof PIIGuardrail>;

const denyPattern = z
  .string()
  .min(1)
  .max(1024)
  .refine(compiles, { message: 'must be a valid regular expression' })
  .meta({
    description:
      'A regular expression (ECMAScript syntax, Unicode mode), searched for in the prompt. Case-sensitive; "(?i:...)" makes a part case-insensitive.',
  });

function compiles(pattern: string): boolean {
  try {
    new RegExp(pattern, 'u');
    return true;
  } catch {
    return false;
  }
}

export const PromptInjectionGuardrail = z
  .object({
    action: z
      .enum(['block', 'log'])
      .default('block')
      .meta({ description: 'block refuses a suspected injection (400); log only reports it.' }),
  })
  .meta({
    description: 'Detects prompt-injection attempts ("ignore previous instructions", role spoofing, ...).',
  });
export type PromptInjectionGuardrail = z.infer<typeof PromptInjectionGuardrail>;

export const Guardrails = withRules(
  z
    .object({
      pii: PIIGuardrail.optional(),
      denyPatterns: z
        .array(denyPattern)
        .max(32)
        .optional()
        .meta({ description: 'A request whose prompt matches any of these is refused (400).' }),
      promptInjection: PromptInjectionGuardrail.optional(),
      maxInputTokens: z
        .number()
        .int()
        .min(1)
        .max(100_000_000)
        .optional()
        .meta({ description: 'Largest estimated prompt size in tokens; larger requests are refused (400).' }),
      allowedModels: listSet(z.array(z.string().min(1).max(256)).max(64))
        .optional()
        .meta({
          description:
            'Models (names, aliases or globs such as "gpt-4o*") that may be requested; others get 403.',
        }),
    })
    .meta({ description: 'Content checks applied to AI requests before they are sent to a provider.' }),
  [
    {
      rule: 'has(self.pii) || has(self.denyPatterns) || has(self.promptInjection) || has(self.maxInputTokens) || has(self.allowedModels)',
      message: 'set at least one guardrail',
    },
  ],
);
export type Guardrails = z.infer<typeof Guardrails>;
