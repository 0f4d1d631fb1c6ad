// What each CRD says about itself besides the schema: names, short names, printer columns.
// Short names are prefixed ("tg...") where a plain one would clash with built-in or widespread
// resources (route, consumer, policy); `aip` is free. All kinds share the `tollgate` category,
// so `kubectl get tollgate` lists everything.
import type { z } from 'zod';
import { AIProvider } from '../ai-provider.ts';
import { Consumer } from '../consumer.ts';
import type { TollgateKind } from '../objects.ts';
import { Policy } from '../policy.ts';
import { Route } from '../route.ts';

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description: string;
  /** 0 shows in `kubectl get`, 1 only in `kubectl get -o wide`. */
  priority?: number;
}

export interface CRDDefinition {
  kind: TollgateKind;
  plural: string;
  singular: string;
  shortNames: string[];
  schema: z.ZodType;
  printerColumns: PrinterColumn[];
}

const condition = (type: string): PrinterColumn => ({
  name: type,
  type: 'string',
  jsonPath: `.status.conditions[?(@.type=="${type}")].status`,
  description: `Status of the ${type} condition.`,
});

const age: PrinterColumn = {
  name: 'Age',
  type: 'date',
  jsonPath: '.metadata.creationTimestamp',
  description: 'Time since the object was created.',
};

export const crdDefinitions: readonly CRDDefinition[] = [
  {
    kind: 'Route',
    plural: 'routes',
    singular: 'route',
    shortNames: ['tgroute', 'tgr'],
    schema: Route,
    printerColumns: [
      { name: 'Hostnames', type: 'string', jsonPath: '.spec.hostnames', description: 'Host names served.' },
      condition('Accepted'),
      condition('Programmed'),
      age,
    ],
  },
  {
    kind: 'AIProvider',
    plural: 'aiproviders',
    singular: 'aiprovider',
    shortNames: ['aip', 'tgaip'],
    schema: AIProvider,
    printerColumns: [
      { name: 'Type', type: 'string', jsonPath: '.spec.type', description: 'Provider API type.' },
      {
        name: 'Base URL',
        type: 'string',
        jsonPath: '.spec.baseURL',
        description: 'Provider base URL.',
        priority: 1,
      },
      condition('Accepted'),
      age,
    ],
  },
  {
    kind: 'Consumer',
    plural: 'consumers',
    singular: 'consumer',
    shortNames: ['tgconsumer', 'tgc'],
    schema: Consumer,
    printerColumns: [
      { name: 'Team', type: 'string', jsonPath: '.spec.team', description: 'Team of the consumer.' },
      {
        name: 'Tenant',
        type: 'string',
        jsonPath: '.spec.tenant',
        description: 'Tenant of the consumer.',
        priority: 1,
      },
      {
        name: 'Disabled',
        type: 'boolean',
        jsonPath: '.spec.disabled',
        description: 'Whether requests of this consumer are refused.',
        priority: 1,
      },
      condition('Accepted'),
      age,
    ],
  },
  {
    kind: 'Policy',
    plural: 'policies',
    singular: 'policy',
    shortNames: ['tgpolicy', 'tgp'],
    schema: Policy,
    printerColumns: [
      {
        name: 'Target Kind',
        type: 'string',
        jsonPath: '.spec.targetRefs[0].kind',
        description: 'Kind of the first target.',
      },
      {
        name: 'Target',
        type: 'string',
        jsonPath: '.spec.targetRefs[0].name',
        description: 'Name of the first target.',
      },
      {
        name: 'Accepted',
        type: 'string',
        jsonPath: '.status.ancestors[0].conditions[?(@.type=="Accepted")].status',
        description: 'Status of the Accepted condition for the first target.',
      },
      age,
    ],
  },
];
