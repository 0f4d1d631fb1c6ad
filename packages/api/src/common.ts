// Building blocks shared by every Tollgate kind: object metadata, conditions, references,
// durations. Descriptions written here end up in the CRDs (`kubectl explain`).
import { z } from 'zod';

export const API_GROUP = 'tollgate.dev';
export const API_VERSION = 'v1alpha1';
export const GROUP_VERSION = `${API_GROUP}/${API_VERSION}`;

/** RFC 1123 DNS subdomain, the name format of most Kubernetes objects. */
export const objectName = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, {
    message: 'must be a lowercase RFC 1123 subdomain (a-z, 0-9, "-" and ".")',
  });

/** Gateway API duration: up to four number+unit pairs, e.g. "1h30m", "500ms". */
export const duration = z
  .string()
  .max(32)
  .regex(/^([0-9]{1,5}(h|m|s|ms)){1,4}$/, { message: 'must be a duration such as "10s", "1m30s" or "500ms"' })
  .meta({ description: 'A duration such as "10s", "1m30s" or "500ms" (units h, m, s, ms).' });

export const ObjectMeta = z.looseObject({
  name: z.string(),
  namespace: z.string().optional(),
  uid: z.string().optional(),
  generation: z.number().int().optional(),
  resourceVersion: z.string().optional(),
  creationTimestamp: z.string().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});
export type ObjectMeta = z.infer<typeof ObjectMeta>;

/** metav1.Condition. `lastTransitionTime` is filled by the status writer, never by translation. */
export const Condition = z.object({
  type: z.string().max(316).meta({ description: 'Type of the condition: Accepted, ResolvedRefs or Programmed.' }),
  status: z.enum(['True', 'False', 'Unknown']).meta({ description: 'Status of the condition.' }),
  reason: z.string().max(1024).meta({ description: 'Machine-readable CamelCase reason for the last transition.' }),
  message: z.string().max(32768).meta({ description: 'Human-readable message: what is wrong and how to fix it.' }),
  observedGeneration: z
    .number()
    .int()
    .min(0)
    .optional()
    .meta({ description: 'The .metadata.generation this condition was computed from.' }),
  lastTransitionTime: z
    .string()
    .optional()
    .meta({ description: 'When the condition last changed status (RFC 3339).' }),
});
export type Condition = z.infer<typeof Condition>;

export const conditionList = z
  .array(Condition)
  .max(8)
  .meta({ description: 'The latest observations of the object, one per condition type.' });

/** A key inside a Secret in the referencing object's namespace. */
export const SecretKeyRef = z
  .object({
    name: objectName.meta({ description: 'Name of the Secret, in the same namespace as this object.' }),
    key: z.string().min(1).max(253).meta({ description: 'Key within the Secret whose value is used.' }),
  })
  .meta({ description: 'A key of a Secret in the same namespace.' });
export type SecretKeyRef = z.infer<typeof SecretKeyRef>;

/** The common status block of Route, AIProvider and Consumer. */
export const ObjectStatus = z
  .object({ conditions: conditionList.optional() })
  .meta({ description: 'Observed state, written by the Tollgate controller.' });
export type ObjectStatus = z.infer<typeof ObjectStatus>;
