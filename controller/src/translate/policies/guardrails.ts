// The `guardrails` section of a Policy compiled for the snapshot: per-type PII actions resolved
// (types ∪ actions keys, each with its own action or the default), prompt-injection threshold
// defaulted, patterns checked. A Policy with a pattern the data plane could not use (does not
// compile, leaves the RE2 subset, is too complex, or matches the empty string and so would refuse
// every request) is rejected whole, with a condition naming the field: half a set of guardrails
// would be a silent hole.
import type { PIIGuardrail } from '@tollgate/api';
import type { GuardrailPIIRuleIR, GuardrailsIR } from '@tollgate/snapshot';
import { compareStrings } from '../order.ts';
import { REGEX_FLAGS, regexProblem } from '../regex.ts';
import type { Reports } from '../report.ts';
import type { PolicyIR } from './attachment.ts';

/** Score at which a prompt counts as an injection attempt when the Policy sets none. */
export const DEFAULT_INJECTION_THRESHOLD = 5;

/** The section as the snapshot carries it; undefined when the Policy sets no guardrails. */
export function compileGuardrails(policy: PolicyIR): GuardrailsIR | undefined {
  const spec = policy.spec.guardrails;
  if (!spec) return undefined;
  const out: GuardrailsIR = { from: policy.id };
  if (spec.pii) out.pii = piiRules(spec.pii);
  if (spec.denyPatterns?.length) out.denyPatterns = [...spec.denyPatterns];
  if (spec.promptInjection) {
    out.promptInjection = {
      action: spec.promptInjection.action,
      threshold: spec.promptInjection.threshold ?? DEFAULT_INJECTION_THRESHOLD,
    };
  }
  if (spec.maxInputTokens !== undefined) out.maxInputTokens = spec.maxInputTokens;
  if (spec.allowedModels) out.allowedModels = [...spec.allowedModels];
  if (spec.responses) {
    const responses: NonNullable<GuardrailsIR['responses']> = {};
    if (spec.responses.pii) responses.pii = piiRules(spec.responses.pii);
    if (spec.responses.denyPatterns && out.denyPatterns) responses.denyPatterns = true;
    if (responses.pii || responses.denyPatterns) out.responses = responses;
  }
  return out;
}

function piiRules(pii: PIIGuardrail): GuardrailPIIRuleIR[] {
  const overrides = pii.actions ?? {};
  const types = new Set([...pii.types, ...Object.keys(overrides)] as GuardrailPIIRuleIR['type'][]);
  return [...types].sort(compareStrings).map((type) => {
    const rule: GuardrailPIIRuleIR = { type, action: overrides[type] ?? pii.action };
    if (type === 'phone' && pii.phoneRegions) rule.regions = [...pii.phoneRegions];
    return rule;
  });
}

/**
 * Reports every Policy whose guardrails the data plane could not apply as not Accepted
 * (reason InvalidGuardrails) and returns the others.
 */
export function rejectInvalidGuardrails(policies: PolicyIR[], reports: Reports): PolicyIR[] {
  return policies.filter((policy) => {
    const problems = guardrailProblems(policy);
    if (problems.length === 0) return true;
    const report = reports.for({ kind: 'Policy', namespace: policy.namespace, name: policy.name });
    for (const problem of problems) report.reject('InvalidGuardrails', problem);
    return false;
  });
}

function guardrailProblems(policy: PolicyIR): string[] {
  const spec = policy.spec.guardrails;
  if (!spec) return [];
  const problems: string[] = [];
  spec.denyPatterns?.forEach((pattern, i) => {
    const field = `spec.guardrails.denyPatterns[${i}]`;
    // The same rules as Route regexes (see ../regex.ts): RE2 syntax, run in a linear-time engine,
    // program size capped; searched for anywhere in the text rather than anchored.
    const problem = regexProblem(pattern, 'search');
    if (problem) {
      problems.push(`${field}: ${JSON.stringify(pattern)} ${problem}`);
      return;
    }
    if (new RegExp(pattern, REGEX_FLAGS).test('')) {
      problems.push(
        `${field}: "${pattern}" matches the empty string, so it would refuse every request; make it match something`,
      );
    }
  });
  if (spec.responses?.denyPatterns && !spec.denyPatterns?.length) {
    problems.push(
      'spec.guardrails.responses.denyPatterns: true, but spec.guardrails.denyPatterns is empty; list the patterns there',
    );
  }
  return problems;
}
