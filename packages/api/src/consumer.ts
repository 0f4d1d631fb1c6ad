// Consumer: a client of the gateway (an app, a team, a tenant) and its API keys.
// Core fields; the API helper extends this into the full shape.
import { z } from 'zod';
import { ObjectMeta, ObjectStatus, SecretKeyRef } from './common.ts';

export const ConsumerSpec = z.object({
  team: z.string().max(63).optional().meta({ description: 'Team this consumer belongs to.' }),
  tenant: z.string().max(63).optional().meta({ description: 'Tenant this consumer belongs to.' }),
  apiKeys: z
    .array(z.object({ secretRef: SecretKeyRef }))
    .max(16)
    .optional()
    .meta({ description: 'API keys, each read from a Secret. Only their hashes reach the data plane.' }),
});
export type ConsumerSpec = z.infer<typeof ConsumerSpec>;

export const Consumer = z.object({
  apiVersion: z.literal('tollgate.dev/v1alpha1'),
  kind: z.literal('Consumer'),
  metadata: ObjectMeta,
  spec: ConsumerSpec,
  status: ObjectStatus.optional(),
});
export type Consumer = z.infer<typeof Consumer>;
