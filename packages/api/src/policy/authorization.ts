// Policy section `authorization`: who may call. Ordered allow/deny rules over the authenticated
// consumer, its team and tenant, the requested model and token claims.
import { z } from 'zod';
import { listMap, listSet, withRules } from '../cel.ts';
import { dnsLabel, objectName } from '../common.ts';

export const ClaimMatch = z
  .object({
    name: z.string().min(1).max(256).meta({ description: 'Claim name; a dotted path reads a nested claim.' }),
    values: listSet(z.array(z.string().max(256)).min(1).max(16)).meta({
      description:
        'The claim matches when it equals one of these, or (for a list claim) contains one of them.',
    }),
  })
  .meta({ description: 'Matches a claim of the verified JWT.' });
export type ClaimMatch = z.infer<typeof ClaimMatch>;

export const AuthorizationRule = withRules(
  z
    .object({
      name: dnsLabel.optional().meta({ description: 'Name of the rule, reported in logs when it decides.' }),
      action: z.enum(['allow', 'deny']).meta({ description: 'What happens to a request this rule matches.' }),
      consumers: listSet(z.array(objectName).max(64))
        .optional()
        .meta({ description: 'Names of Consumers (in the policy namespace); one must be the caller.' }),
      teams: listSet(z.array(z.string().min(1).max(63)).max(32))
        .optional()
        .meta({ description: "The caller's team must be one of these." }),
      tenants: listSet(z.array(z.string().min(1).max(63)).max(32))
        .optional()
        .meta({ description: "The caller's tenant must be one of these." }),
      models: listSet(z.array(z.string().min(1).max(256)).max(32))
        .optional()
        .meta({ description: 'The requested model must match one of these names or globs ("gpt-4o*").' }),
      claims: listMap(z.array(ClaimMatch).max(8), ['name'])
        .optional()
        .meta({ description: 'Every one of these JWT claims must match.' }),
    })
    .meta({
      description:
        'A rule matches when every criterion it sets holds (a list matches when any of its items does). Rules are tried in order; the first match decides.',
    }),
  [
    {
      rule: 'has(self.consumers) || has(self.teams) || has(self.tenants) || has(self.models) || has(self.claims)',
      message: 'a rule needs at least one of consumers, teams, tenants, models and claims',
    },
  ],
);
export type AuthorizationRule = z.infer<typeof AuthorizationRule>;

export const Authorization = z
  .object({
    defaultAction: z
      .enum(['allow', 'deny'])
      .default('deny')
      .meta({ description: 'What happens to a request no rule matches.' }),
    rules: z.array(AuthorizationRule).max(32).optional().meta({ description: 'Rules, tried in order.' }),
  })
  .meta({ description: 'Which authenticated callers may use the target. Refused requests get 403.' });
export type Authorization = z.infer<typeof Authorization>;
