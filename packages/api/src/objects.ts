// Every object kind that sources hand to the translator, and a parser that tells which is which.
import type { z } from 'zod';
import { AIProvider } from './ai-provider.ts';
import { Consumer } from './consumer.ts';
import { EndpointSlice, Secret, Service } from './core.ts';
import { Policy } from './policy.ts';
import { Route } from './route.ts';

export const tollgateKinds = { Route, AIProvider, Consumer, Policy } as const;
export const coreKinds = { Secret, Service, EndpointSlice } as const;
export const objectSchemas = { ...tollgateKinds, ...coreKinds } as const;

export type TollgateKind = keyof typeof tollgateKinds;
export type ObjectKind = keyof typeof objectSchemas;
export type AnyObject = { [K in ObjectKind]: z.infer<(typeof objectSchemas)[K]> }[ObjectKind];
export type ObjectOfKind<K extends ObjectKind> = z.infer<(typeof objectSchemas)[K]>;

export interface ObjectRef {
  kind: ObjectKind;
  namespace: string;
  name: string;
}

export const isTollgateKind = (kind: string): kind is TollgateKind => Object.hasOwn(tollgateKinds, kind);
export const isObjectKind = (kind: string): kind is ObjectKind => Object.hasOwn(objectSchemas, kind);

/** `kind/namespace/name`: the identity of an object inside one snapshot build. */
export const objectKey = (ref: ObjectRef): string => `${ref.kind}/${ref.namespace}/${ref.name}`;
