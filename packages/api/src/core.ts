// The built-in Kubernetes kinds Tollgate reads: only the fields translation uses.
import { z } from 'zod';
import { ObjectMeta } from './common.ts';

export const Secret = z.object({
  apiVersion: z.literal('v1'),
  kind: z.literal('Secret'),
  metadata: ObjectMeta,
  type: z.string().optional(),
  /** Base64-encoded values, as the API server stores them. */
  data: z.record(z.string(), z.string()).optional(),
  /** Plain values; the API server folds them into data, the file source accepts them as written. */
  stringData: z.record(z.string(), z.string()).optional(),
});
export type Secret = z.infer<typeof Secret>;

export const Service = z.object({
  apiVersion: z.literal('v1'),
  kind: z.literal('Service'),
  metadata: ObjectMeta,
  spec: z.looseObject({
    ports: z
      .array(
        z.looseObject({
          name: z.string().optional(),
          port: z.number().int(),
          targetPort: z.union([z.number().int(), z.string()]).optional(),
          protocol: z.string().optional(),
          appProtocol: z.string().optional(),
        }),
      )
      .optional(),
    type: z.string().optional(),
    externalName: z.string().optional(),
  }),
});
export type Service = z.infer<typeof Service>;

export const EndpointSlice = z.object({
  apiVersion: z.literal('discovery.k8s.io/v1'),
  kind: z.literal('EndpointSlice'),
  metadata: ObjectMeta,
  addressType: z.string(),
  endpoints: z
    .array(
      z.looseObject({
        addresses: z.array(z.string()),
        conditions: z
          .looseObject({
            ready: z.boolean().nullish(),
            serving: z.boolean().nullish(),
            terminating: z.boolean().nullish(),
          })
          .optional(),
        zone: z.string().optional(),
      }),
    )
    .nullish(),
  ports: z
    .array(
      z.looseObject({
        name: z.string().nullish(),
        port: z.number().int().nullish(),
        protocol: z.string().nullish(),
      }),
    )
    .nullish(),
});
export type EndpointSlice = z.infer<typeof EndpointSlice>;
