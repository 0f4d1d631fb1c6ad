// Policy: attaches behaviour to Routes, AIProviders, Consumers or a Namespace via targetRefs
// (Gateway API policy attachment). Core fields; the API helper extends this into the full shape.
import { z } from 'zod';
import { conditionList, ObjectMeta } from './common.ts';

export const PolicyTargetRef = z.object({
  group: z.string().max(253).default('tollgate.dev'),
  kind: z.enum(['Route', 'AIProvider', 'Consumer', 'Namespace']),
  name: z.string().min(1).max(253),
});
export type PolicyTargetRef = z.infer<typeof PolicyTargetRef>;

export const PolicySpec = z.object({
  targetRefs: z.array(PolicyTargetRef).min(1).max(16),
});
export type PolicySpec = z.infer<typeof PolicySpec>;

export const PolicyAncestorStatus = z.object({
  ancestorRef: PolicyTargetRef.extend({ namespace: z.string().optional() }),
  controllerName: z.string(),
  conditions: conditionList,
});

export const Policy = z.object({
  apiVersion: z.literal('tollgate.dev/v1alpha1'),
  kind: z.literal('Policy'),
  metadata: ObjectMeta,
  spec: PolicySpec,
  status: z.object({ ancestors: z.array(PolicyAncestorStatus).max(16).optional() }).optional(),
});
export type Policy = z.infer<typeof Policy>;
