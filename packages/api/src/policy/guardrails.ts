// Policy section `guardrails`: checks on the content of AI requests before they reach a provider,
// and (optionally) on what the provider answers before it reaches the caller.
import { z } from 'zod';
import { listSet, withRules } from '../cel.ts';

export const piiTypes = [
  'email',
  'phone',
  'creditCard',
  'ssn',
  'iban',
  'ipAddress',
  'nationalId',
  'secret',
] as const;
export type PIIType = (typeof piiTypes)[number];

const piiAction = z.enum(['mask', 'block']);

const piiTypeList = listSet(z.array(z.enum(piiTypes)).min(1).max(16)).meta({
  description:
    'Kinds of sensitive data looked for: email, phone (international and national formats), creditCard (Luhn-checked), ssn (US), iban (mod-97 checked), ipAddress, nationalId (US SSN, UK National Insurance number, Spanish DNI/NIE), secret (API keys and tokens such as sk-…, AKIA…, ghp_…, xox…-, JWTs).',
});

/** Per-type overrides of `action`; a type named here is looked for even when `types` omits it. */
const PIIActions = z
  .object({
    email: piiAction.optional().meta({ description: 'Action for email findings.' }),
    phone: piiAction.optional().meta({ description: 'Action for phone findings.' }),
    creditCard: piiAction.optional().meta({ description: 'Action for creditCard findings.' }),
    ssn: piiAction.optional().meta({ description: 'Action for ssn findings.' }),
    iban: piiAction.optional().meta({ description: 'Action for iban findings.' }),
    ipAddress: piiAction.optional().meta({ description: 'Action for ipAddress findings.' }),
    nationalId: piiAction.optional().meta({ description: 'Action for nationalId findings.' }),
    secret: piiAction.optional().meta({ description: 'Action for secret findings.' }),
  })
  .meta({
    description:
      'The action for individual types, overriding `action` (for example mask emails but block card numbers). A type named here is looked for even when `types` does not list it.',
  });

export const PIIGuardrail = z
  .object({
    types: piiTypeList,
    action: piiAction.default('mask').meta({
      description:
        'mask replaces each finding with a placeholder ("<EMAIL>", "<CREDIT_CARD>") before the prompt leaves the gateway; block refuses the request (400).',
    }),
    actions: PIIActions.optional(),
    phoneRegions: listSet(
      z
        .array(
          z
            .string()
            .max(2)
            .regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 code such as "DE"'),
        )
        .min(1)
        .max(8),
    )
      .optional()
      .meta({
        description:
          'Countries (ISO 3166-1 alpha-2, e.g. ["US", "GB", "DE"]) whose national phone formats are recognised besides the international "+<country code>" form. Default ["US"].',
      }),
  })
  .meta({ description: 'Detects personal data and secrets in prompts.' });
export type PIIGuardrail = z.infer<typeof PIIGuardrail>;

const denyPattern = z
  .string()
  .min(1)
  .max(1024)
  .refine(compiles, { message: 'must be a valid regular expression' })
  .meta({
    description:
      'A regular expression in the syntax RE2 and JavaScript share (no lookaround or backreferences), searched for in the prompt by a linear-time engine. Case-sensitive; "(?i:...)" makes a part case-insensitive.',
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
      .meta({ description: 'block refuses a suspected injection (400); log only counts it in the metrics.' }),
    threshold: z.number().int().min(1).max(100).optional().meta({
      description:
        'Score at which a prompt counts as an injection attempt (default 5). Each phrase of the documented set adds its weight once: "ignore previous instructions" 5, a system-prompt request 4, role overrides 3, … (see docs/policies.md).',
    }),
  })
  .meta({
    description: 'Detects prompt-injection attempts ("ignore previous instructions", role spoofing, ...).',
  });
export type PromptInjectionGuardrail = z.infer<typeof PromptInjectionGuardrail>;

export const ResponseGuardrails = withRules(
  z
    .object({
      pii: PIIGuardrail.optional().meta({
        description:
          'Sensitive data looked for in what the model answers. mask rewrites non-streamed responses; streamed responses are checked for block findings only (on a sliding window) and cut with an error event.',
      }),
      denyPatterns: z.boolean().optional().meta({
        description: 'true: the guardrails denyPatterns are also searched for in responses (a match blocks).',
      }),
    })
    .meta({ description: 'Checks on the text an AI provider answers.' }),
  [{ rule: 'has(self.pii) || has(self.denyPatterns)', message: 'set pii or denyPatterns' }],
);
export type ResponseGuardrails = z.infer<typeof ResponseGuardrails>;

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
      responses: ResponseGuardrails.optional(),
    })
    .meta({
      description:
        'Content checks applied to AI requests before they are sent to a provider, and to responses.',
    }),
  [
    {
      rule: 'has(self.pii) || has(self.denyPatterns) || has(self.promptInjection) || has(self.maxInputTokens) || has(self.allowedModels) || has(self.responses)',
      message: 'set at least one guardrail',
    },
  ],
);
export type Guardrails = z.infer<typeof Guardrails>;
