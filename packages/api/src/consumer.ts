// Consumer: a client of the gateway (an app, a team, a tenant) and its API keys.
import { z } from 'zod';
import { boundedMap, withRules } from './cel.ts';
import { dnsLabel, ObjectMeta, ObjectStatus, SecretKeyRef } from './common.ts';

/** Team and tenant names: label-value syntax, so they can become metric labels and Kubernetes labels. */
const groupName = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/, {
    message: 'must be 1-63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit',
  });

export const ConsumerAPIKey = z
  .object({
    name: dnsLabel.optional().meta({
      description:
        'Name of the key, shown in logs and metrics instead of the key itself. Unique within the consumer.',
    }),
    secretRef: SecretKeyRef.meta({ description: 'Secret key holding the API key the client presents.' }),
  })
  .meta({ description: 'An API key of this consumer.' });
export type ConsumerAPIKey = z.infer<typeof ConsumerAPIKey>;

export const ConsumerSpec = z
  .object({
    displayName: z.string().max(256).optional().meta({ description: 'Human-friendly name, for dashboards.' }),
    team: groupName
      .optional()
      .meta({ description: 'Team this consumer belongs to (rate limits and budgets per team).' }),
    tenant: groupName
      .optional()
      .meta({ description: 'Tenant this consumer belongs to (rate limits and budgets per tenant).' }),
    apiKeys: withRules(
      z.array(ConsumerAPIKey).max(16).meta({
        description:
          'API keys, each read from a Secret. Only their hashes reach the data plane. Several keys allow rotation without downtime.',
      }),
      [
        {
          rule: 'self.all(k, !has(k.name) || self.exists_one(o, has(o.name) && o.name == k.name))',
          message: 'API key names must be unique',
          reason: 'FieldValueDuplicate',
        },
      ],
    ).optional(),
    metadata: boundedMap(
      z.record(
        z
          .string()
          .min(1)
          .max(63)
          .regex(/^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/, {
            message: 'keys must be 1-63 letters, digits, "-", "_" or "."',
          }),
        z.string().max(256),
      ),
      32,
    )
      .optional()
      .meta({
        description:
          'Free-form labels (at most 32; keys up to 63 characters of letters, digits, "-", "_", "."; values up to 256 characters), available to policies and written to the access log.',
      }),
    disabled: z
      .boolean()
      .default(false)
      .meta({ description: 'When true, every request authenticated as this consumer is refused (403).' }),
  })
  .meta({ description: 'Desired state of a gateway consumer.' });
export type ConsumerSpec = z.infer<typeof ConsumerSpec>;

export const Consumer = z
  .object({
    apiVersion: z.literal('tollgate.dev/v1alpha1'),
    kind: z.literal('Consumer'),
    metadata: ObjectMeta,
    spec: ConsumerSpec,
    status: ObjectStatus.optional(),
  })
  .meta({
    description:
      'Consumer is a client of the gateway (an app, a team, a tenant): the API keys it authenticates with, read from Secrets, and the team, tenant and metadata that policies, limits and budgets key on.',
  });
export type Consumer = z.infer<typeof Consumer>;
