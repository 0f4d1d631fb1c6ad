// The API server only accepts structural schemas, and rejects CEL rules whose worst-case cost it
// cannot bound. These tests hold every generated CRD to those rules (and to `kubectl explain`
// having something to say about every field), and pin down how zod constructs are rewritten.
import { z } from 'zod';
import { buildCRD, crdDefinitions, type StructuralSchema, toStructuralSchema } from '../src/crd/index.ts';
import { walkSchema } from './helpers.ts';

const schemas = crdDefinitions.map(
  (definition) => [definition.kind, buildCRD(definition).spec.versions[0]?.schema.openAPIV3Schema] as const,
);

const envelope = new Set(['.apiVersion', '.kind', '.metadata']);

function problems(
  schema: StructuralSchema,
  check: (node: StructuralSchema, path: string) => string | undefined,
) {
  const found: string[] = [];
  walkSchema(schema, (node, path) => {
    if (envelope.has(path)) return; // owned and validated by the API server itself
    const problem = check(node, path);
    if (problem) found.push(`${path || '(root)'}: ${problem}`);
  });
  return found;
}

describe.each(schemas)('the %s CRD schema', (_kind, schema) => {
  if (!schema) throw new Error('no schema');

  it('gives every node a type (or marks it int-or-string / preserve-unknown-fields)', () => {
    expect(
      problems(schema, (node) =>
        node.type || node['x-kubernetes-int-or-string'] || node['x-kubernetes-preserve-unknown-fields']
          ? undefined
          : 'no type',
      ),
    ).toEqual([]);
  });

  it('uses no keyword a structural schema forbids', () => {
    const forbidden = [
      '$ref',
      '$defs',
      'definitions',
      'anyOf',
      'oneOf',
      'allOf',
      'not',
      'const',
      'propertyNames',
    ];
    expect(
      problems(schema, (node) => {
        const bad = forbidden.filter((keyword) => keyword in node);
        if ((node as { additionalProperties?: unknown }).additionalProperties === false)
          bad.push('additionalProperties: false');
        if ((node as { uniqueItems?: unknown }).uniqueItems === true) bad.push('uniqueItems: true');
        if (node.properties && node.additionalProperties)
          bad.push('both properties and additionalProperties');
        return bad.length ? bad.join(', ') : undefined;
      }),
    ).toEqual([]);
  });

  it('bounds every list, map and free-form string, so CEL cost can be estimated', () => {
    expect(
      problems(schema, (node) => {
        if (node.type === 'array' && node.maxItems === undefined) return 'array without maxItems';
        if (node.type === 'object' && node.additionalProperties && node.maxProperties === undefined) {
          return 'map without maxProperties';
        }
        if (node.type === 'string' && node.maxLength === undefined) return 'string without maxLength';
        return undefined;
      }),
    ).toEqual([]);
  });

  it('describes every property, for kubectl explain', () => {
    expect(
      problems(schema, (node, path) =>
        node.description || path.endsWith('[*]') || path.endsWith('{*}') ? undefined : 'no description',
      ),
    ).toEqual([]);
    expect(schema.description).toBeTruthy();
    expect(schema.properties?.spec?.description).toBeTruthy();
    expect(schema.properties?.status?.description).toBeTruthy();
  });

  it('leaves metadata to the API server', () => {
    expect(schema.properties?.metadata).toEqual({ type: 'object' });
    expect(schema.required).toEqual(['spec']);
  });

  it('keys list maps on required or defaulted scalar fields, and keeps sets scalar', () => {
    expect(
      problems(schema, (node) => {
        const listType = node['x-kubernetes-list-type'];
        if (listType === 'set' && node.items?.type === 'object') return 'set of objects';
        if (listType !== 'map') return undefined;
        const item = node.items;
        for (const key of node['x-kubernetes-list-map-keys'] ?? []) {
          const field = item?.properties?.[key];
          if (!field || field.type === 'object' || field.type === 'array')
            return `map key ${key} is not a scalar field`;
          if (!item?.required?.includes(key) && field.default === undefined)
            return `map key ${key} is optional`;
        }
        return undefined;
      }),
    ).toEqual([]);
  });

  it('writes CEL rules with a message, and field paths that exist', () => {
    expect(
      problems(schema, (node) => {
        for (const rule of node['x-kubernetes-validations'] ?? []) {
          if (!rule.message) return `rule ${rule.rule} has no message`;
          if (rule.fieldPath) {
            let target: StructuralSchema | undefined = node;
            for (const field of rule.fieldPath.slice(1).split('.')) target = target?.properties?.[field];
            if (!target) return `fieldPath ${rule.fieldPath} does not exist`;
          }
        }
        return undefined;
      }),
    ).toEqual([]);
  });

  it('keeps defaults valid against their own schema', () => {
    expect(
      problems(schema, (node) => {
        if (node.default === undefined) return undefined;
        if (node.enum && !node.enum.includes(node.default))
          return `default ${String(node.default)} not in enum`;
        if (
          node.pattern &&
          typeof node.default === 'string' &&
          !new RegExp(node.pattern).test(node.default)
        ) {
          return `default ${node.default} does not match ${node.pattern}`;
        }
        const type = Array.isArray(node.default) ? 'array' : typeof node.default;
        const expected = node.type === 'integer' || node.type === 'number' ? 'number' : node.type;
        return type === expected ? undefined : `default of type ${type} on a ${node.type}`;
      }),
    ).toEqual([]);
  });
});

describe('toStructuralSchema', () => {
  it('inlines schemas used more than once instead of emitting $ref', () => {
    const shared = z.object({ a: z.string().max(3) });
    const schema = toStructuralSchema(z.object({ x: shared, y: shared }));
    expect(schema.properties?.x).toEqual(schema.properties?.y);
    expect(JSON.stringify(schema)).not.toContain('$ref');
  });

  it('drops additionalProperties: false and keeps required fields and defaults', () => {
    const schema = toStructuralSchema(
      z.strictObject({ a: z.string().max(1), b: z.number().int().default(3) }),
    );
    expect(schema).toEqual({
      type: 'object',
      properties: { a: { type: 'string', maxLength: 1 }, b: { type: 'integer', default: 3 } },
      required: ['a'],
    });
  });

  it('rewrites a union of literals into one enum, typed integer when every value is', () => {
    expect(toStructuralSchema(z.union([z.literal(1), z.literal(2)]))).toEqual({
      type: 'integer',
      enum: [1, 2],
    });
    expect(toStructuralSchema(z.union([z.literal('a'), z.enum(['b', 'cc'])]))).toEqual({
      type: 'string',
      enum: ['a', 'b', 'cc'],
      maxLength: 2,
    });
    expect(toStructuralSchema(z.literal('x'))).toEqual({ type: 'string', enum: ['x'], maxLength: 1 });
  });

  it('rewrites nullable, int-or-string and object unions', () => {
    expect(toStructuralSchema(z.string().max(2).nullable())).toEqual({
      type: 'string',
      maxLength: 2,
      nullable: true,
    });
    expect(toStructuralSchema(z.union([z.number().int(), z.string()]))).toEqual({
      'x-kubernetes-int-or-string': true,
    });
    expect(
      toStructuralSchema(
        z.union([
          z.object({ a: z.string().max(1), c: z.boolean() }),
          z.object({ b: z.string().max(1), c: z.boolean() }),
        ]),
      ),
    ).toEqual({
      type: 'object',
      properties: {
        a: { type: 'string', maxLength: 1 },
        b: { type: 'string', maxLength: 1 },
        c: { type: 'boolean' },
      },
      required: ['c'],
    });
  });

  it('refuses a union with no structural form', () => {
    expect(() => toStructuralSchema(z.object({ u: z.union([z.string(), z.boolean()]) }))).toThrow(
      '.u: union of string, boolean has no structural form',
    );
  });

  it('turns unknown values into preserve-unknown-fields and records into typed maps', () => {
    expect(toStructuralSchema(z.object({ u: z.unknown() }).partial()).properties?.u).toEqual({
      'x-kubernetes-preserve-unknown-fields': true,
    });
    expect(toStructuralSchema(z.record(z.string(), z.string().max(5)))).toEqual({
      type: 'object',
      additionalProperties: { type: 'string', maxLength: 5 },
    });
  });

  it('writes integers as type integer without the safe-integer bounds zod adds', () => {
    expect(toStructuralSchema(z.number().int())).toEqual({ type: 'integer' });
    expect(toStructuralSchema(z.number().int().min(1).max(9))).toEqual({
      type: 'integer',
      minimum: 1,
      maximum: 9,
    });
  });

  it('carries descriptions and x-kubernetes extensions from .meta()', () => {
    const rules = [{ rule: 'self.a != ""', message: 'a must not be empty' }];
    const schema = toStructuralSchema(
      z.object({ a: z.string().max(1) }).meta({ description: 'd', 'x-kubernetes-validations': rules }),
    );
    expect(schema.description).toBe('d');
    expect(schema['x-kubernetes-validations']).toEqual(rules);
  });
});
