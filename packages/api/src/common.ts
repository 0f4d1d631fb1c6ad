// Building blocks shared by every Tollgate kind: object metadata, conditions, references,
// durations. Descriptions written here end up in the CRDs (`kubectl explain`).
import { isIPv4, isIPv6 } from 'node:net';
import { z } from 'zod';
import { listMap } from './cel.ts';

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

/** RFC 1123 DNS label: the name format of list items other fields refer to (rate limits, budgets, keys). */
export const dnsLabel = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, {
    message: 'must be a lowercase RFC 1123 label (a-z, 0-9 and "-")',
  });

/** An HTTP header name (RFC 9110 token). */
export const headerName = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/, { message: 'must be a valid HTTP header name' });

/** An absolute http(s) URL, such as a provider's base URL. */
export const httpURL = z
  .string()
  .min(1)
  .max(2048)
  .regex(/^https?:\/\/[^\s/?#]+([/?#]\S*)?$/, { message: 'must be an absolute http:// or https:// URL' });

/**
 * A non-negative decimal number written as a string ("2.50", "0.075"). Prices and amounts are strings
 * so that no value passes through floating point between the manifest and the meter.
 */
export const decimal = z
  .string()
  .max(32)
  .regex(/^(0|[1-9][0-9]{0,14})(\.[0-9]{1,12})?$/, {
    message: 'must be a non-negative decimal number written as a string, such as "2.50" or "0.075"',
  });

/** ISO 4217 currency code. */
export const currency = z
  .string()
  .length(3)
  .regex(/^[A-Z]{3}$/, { message: 'must be an ISO 4217 currency code such as "USD" or "EUR"' })
  .default('USD')
  .meta({ description: 'ISO 4217 currency code. Defaults to USD.' });

/** An IANA time zone name such as "UTC" or "Europe/Paris". */
export const timeZone = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+){0,2}$/, {
    message: 'must be an IANA time zone name such as "UTC" or "Europe/Paris"',
  })
  .refine(isKnownTimeZone, {
    message: 'is not a time zone known to the IANA database (e.g. "Europe/Paris")',
  });

function isKnownTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** An IPv4 or IPv6 address block in CIDR notation ("10.0.0.0/8", "2001:db8::/32"). */
export const cidr = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[0-9A-Fa-f:.]+\/[0-9]{1,3}$/, {
    message: 'must be a CIDR block such as "10.0.0.0/8" or "2001:db8::/32"',
  })
  .refine(isCIDR, { message: 'must be a CIDR block such as "10.0.0.0/8" or "2001:db8::/32"' });

function isCIDR(value: string): boolean {
  const [address = '', bits = ''] = value.split('/');
  const prefix = Number(bits);
  if (isIPv4(address)) return prefix <= 32;
  if (isIPv6(address)) return prefix <= 128;
  return false;
}

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
export const Condition = z
  .object({
    type: z
      .string()
      .max(316)
      .meta({ description: 'Type of the condition: Accepted, ResolvedRefs or Programmed.' }),
    status: z.enum(['True', 'False', 'Unknown']).meta({ description: 'Status of the condition.' }),
    reason: z
      .string()
      .max(1024)
      .meta({ description: 'Machine-readable CamelCase reason for the last transition.' }),
    message: z
      .string()
      .max(32768)
      .meta({ description: 'Human-readable message: what is wrong and how to fix it.' }),
    observedGeneration: z
      .number()
      .int()
      .min(0)
      .optional()
      .meta({ description: 'The .metadata.generation this condition was computed from.' }),
    lastTransitionTime: z
      .string()
      .max(64)
      .optional()
      .meta({ description: 'When the condition last changed status (RFC 3339).' }),
  })
  .meta({ description: 'One aspect of the observed state (metav1.Condition).' });
export type Condition = z.infer<typeof Condition>;

export const conditionList = listMap(
  z
    .array(Condition)
    .max(8)
    .meta({ description: 'The latest observations of the object, one per condition type.' }),
  ['type'],
);

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
