// Turns a zod schema into a structural OpenAPI v3 schema, the only kind a CRD may carry:
// every node typed, no $ref, no unions, no `additionalProperties: false`. zod writes the JSON
// Schema; this module rewrites what Kubernetes refuses and fails loudly on what it cannot rewrite.
import { z } from 'zod';
import type { ValidationRule } from '../cel.ts';

export type StructuralType = 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';

/** The subset of apiextensions.k8s.io/v1 JSONSchemaProps the generator emits. */
export interface StructuralSchema {
  type?: StructuralType;
  description?: string;
  format?: string;
  enum?: unknown[];
  default?: unknown;
  nullable?: boolean;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  multipleOf?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  required?: string[];
  items?: StructuralSchema;
  properties?: Record<string, StructuralSchema>;
  additionalProperties?: StructuralSchema;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
  'x-kubernetes-validations'?: ValidationRule[];
}

type JSONSchema = Record<string, unknown>;

/** Keywords copied as they are (after their children are rewritten). */
const passThrough = new Set([
  'description',
  'type',
  'format',
  'enum',
  'default',
  'nullable',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'minLength',
  'maxLength',
  'pattern',
  'minItems',
  'maxItems',
  'minProperties',
  'maxProperties',
  'required',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-int-or-string',
  'x-kubernetes-embedded-resource',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
  'x-kubernetes-validations',
]);

/** Keywords dropped on purpose: JSON Schema bookkeeping, and checks zod keeps doing at parse time. */
const dropped = new Set(['$schema', '$id', 'id', 'title', 'propertyNames', 'examples', 'deprecated']);

/** Formats the API server understands; any other would be ignored there, so it is dropped here. */
const kubernetesFormats = new Set([
  'int32',
  'int64',
  'float',
  'double',
  'byte',
  'date',
  'date-time',
  'duration',
  'uri',
  'email',
  'hostname',
  'ipv4',
  'ipv6',
  'cidr',
  'uuid',
]);

export class StructuralSchemaError extends Error {
  readonly code = 'TG_ERR_CRD_SCHEMA';
  constructor(path: string, message: string) {
    super(`${path || '(root)'}: ${message}`);
  }
}

/** zod -> structural schema. Throws StructuralSchemaError on a construct a CRD cannot express. */
export function toStructuralSchema(schema: z.ZodType): StructuralSchema {
  const json = z.toJSONSchema(schema, {
    io: 'input',
    target: 'openapi-3.0',
    unrepresentable: 'throw',
    cycles: 'throw',
    reused: 'inline',
  }) as JSONSchema;
  return rewrite(json, '');
}

function rewrite(input: JSONSchema, path: string): StructuralSchema {
  let node: JSONSchema = { ...input };
  for (const key of ['$ref', '$defs', 'definitions', 'not', 'patternProperties', 'if', 'then', 'else']) {
    if (key in node) throw new StructuralSchemaError(path, `"${key}" cannot appear in a structural schema`);
  }
  if ('allOf' in node) node = mergeAllOf(node, path);
  if ('anyOf' in node || 'oneOf' in node) node = rewriteUnion(node, path);
  if ('const' in node) {
    node.enum = [node.const];
    delete node.const;
  }

  const out: StructuralSchema = {};
  for (const [key, value] of Object.entries(node)) {
    if (dropped.has(key)) continue;
    if (key === 'properties') {
      const properties: Record<string, StructuralSchema> = {};
      for (const [name, child] of Object.entries(value as Record<string, JSONSchema>)) {
        properties[name] = rewrite(child, `${path}.${name}`);
      }
      out.properties = properties;
    } else if (key === 'items') {
      if (Array.isArray(value))
        throw new StructuralSchemaError(path, 'tuples cannot appear in a structural schema');
      out.items = rewrite(value as JSONSchema, `${path}[*]`);
    } else if (key === 'additionalProperties') {
      if (value === false) continue; // the API server prunes unknown fields anyway
      if (value === true || isEmptySchema(value as JSONSchema)) {
        out['x-kubernetes-preserve-unknown-fields'] = true;
      } else {
        out.additionalProperties = rewrite(value as JSONSchema, `${path}[*]`);
      }
    } else if (key === 'format') {
      if (kubernetesFormats.has(value as string)) out.format = value as string;
    } else if (passThrough.has(key)) {
      (out as Record<string, unknown>)[key] = value;
    } else {
      throw new StructuralSchemaError(path, `unexpected keyword "${key}"`);
    }
  }

  if (Array.isArray(out.type)) throw new StructuralSchemaError(path, 'a node needs exactly one type');
  if (out.type === 'number' && out.enum?.every((value) => Number.isInteger(value))) out.type = 'integer';
  if (out.type === 'integer') {
    // zod bounds every int to the safe-integer range; that is the int64 CEL and the API server assume anyway
    if (out.minimum === -Number.MAX_SAFE_INTEGER) delete out.minimum;
    if (out.maximum === Number.MAX_SAFE_INTEGER) delete out.maximum;
  }
  if (out.type === 'string' && out.enum && out.maxLength === undefined) {
    // API servers without enum-aware CEL cost estimation assume an unbounded string: bound it explicitly
    out.maxLength = Math.max(...out.enum.map((value) => String(value).length));
  }
  if (out.properties && Object.keys(out.properties).length === 0 && !out.additionalProperties) {
    delete out.properties;
  }
  if (!out.type && !out['x-kubernetes-int-or-string']) {
    if (out.properties || out.additionalProperties) out.type = 'object';
    else out['x-kubernetes-preserve-unknown-fields'] = true; // z.unknown(), z.any()
  }
  return out;
}

function isEmptySchema(schema: JSONSchema): boolean {
  return Object.keys(schema).every((key) => key === 'description');
}

function mergeAllOf(node: JSONSchema, path: string): JSONSchema {
  const members = node.allOf as JSONSchema[];
  if (members.length !== 1)
    throw new StructuralSchemaError(path, 'allOf with several members (an intersection)');
  const { allOf: _allOf, ...rest } = node;
  return { ...members[0], ...rest };
}

/**
 * Unions a CRD can still say: `X | null` (nullable), unions of literals (one enum), `int | string`
 * (x-kubernetes-int-or-string) and unions of objects (all their properties; exclusivity is left to CEL
 * rules the schema declares). Anything else is an error to fix in the zod schema.
 */
function rewriteUnion(node: JSONSchema, path: string): JSONSchema {
  const { anyOf, oneOf, ...rest } = node;
  let members = ((anyOf ?? oneOf) as JSONSchema[]).map((member) =>
    'allOf' in member ? mergeAllOf(member, path) : member,
  );
  const nullable = members.some((member) => member.type === 'null');
  members = members.filter((member) => member.type !== 'null');
  const base: JSONSchema = nullable ? { ...rest, nullable: true } : rest;

  if (members.length === 1) return { ...members[0], ...base };

  const types = new Set(members.map((member) => member.type));
  if (members.every((member) => Array.isArray(member.enum) || 'const' in member) && types.size === 1) {
    const values = members.flatMap((member) =>
      'const' in member ? [member.const] : (member.enum as unknown[]),
    );
    return { type: members[0]?.type, enum: [...new Set(values)], ...base };
  }
  if (types.size === 2 && types.has('string') && (types.has('integer') || types.has('number'))) {
    return { 'x-kubernetes-int-or-string': true, ...base };
  }
  if (types.size === 1 && types.has('object')) {
    const properties: Record<string, JSONSchema> = {};
    for (const member of members) {
      for (const [name, schema] of Object.entries((member.properties ?? {}) as Record<string, JSONSchema>)) {
        if (name in properties && JSON.stringify(properties[name]) !== JSON.stringify(schema)) {
          throw new StructuralSchemaError(
            `${path}.${name}`,
            'union members define this property differently',
          );
        }
        properties[name] = schema;
      }
    }
    const required = members
      .map((member) => (member.required ?? []) as string[])
      .reduce((common, names) => common.filter((name) => names.includes(name)));
    return { type: 'object', properties, ...(required.length ? { required } : {}), ...base };
  }
  throw new StructuralSchemaError(path, `union of ${[...types].join(', ')} has no structural form`);
}
