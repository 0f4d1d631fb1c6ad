// The CEL rules of the CRDs are evaluated for real by the API server; here they are checked
// against the schema they sit on (every field they read exists, types line up) and run
// against the valid fixtures, so a typo or an expression the evaluator cannot run fails now.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { type ASTNode, Environment, parse } from '@marcbachmann/cel-js';
import { toCelValue } from '../src/cel.ts';
import { buildCRD, crdDefinitions, type StructuralSchema } from '../src/crd/index.ts';
import { parseObject } from '../src/index.ts';
import { loadDocuments, testdata, walkSchema } from './helpers.ts';

const schemas = crdDefinitions.map(
  (definition) =>
    [
      definition.kind,
      buildCRD(definition).spec.versions[0]?.schema.openAPIV3Schema as StructuralSchema,
    ] as const,
);

interface PlacedRule {
  path: string;
  node: StructuralSchema;
  rule: string;
}

function rulesOf(schema: StructuralSchema): PlacedRule[] {
  const rules: PlacedRule[] = [];
  walkSchema(schema, (node, path) => {
    for (const { rule } of node['x-kubernetes-validations'] ?? []) rules.push({ path, node, rule });
  });
  return rules;
}

const macros = new Set(['all', 'exists', 'exists_one', 'filter', 'map']);

/** Follows field selections through the schema; records each one that names no field. */
function unknownFields(rule: string, self: StructuralSchema): string[] {
  const missing: string[] = [];
  const resolve = (
    node: ASTNode,
    scope: Map<string, StructuralSchema | undefined>,
  ): StructuralSchema | undefined => {
    const args = node.args as unknown;
    switch (node.op) {
      case 'id':
        return scope.get(args as string);
      case '.':
      case '.?': {
        const [operand, field] = args as [ASTNode, string];
        const base = resolve(operand, scope);
        if (!base) return undefined;
        if (base.properties) {
          if (!(field in base.properties)) missing.push(field);
          return base.properties[field];
        }
        if (base.additionalProperties) return base.additionalProperties;
        if (!base['x-kubernetes-preserve-unknown-fields']) missing.push(`${field} (on a ${base.type})`);
        return undefined;
      }
      case '[]':
      case '[?]': {
        const [operand, index] = args as [ASTNode, ASTNode];
        resolve(index, scope);
        const base = resolve(operand, scope);
        return base?.items ?? base?.additionalProperties;
      }
      case 'rcall': {
        const [name, receiver, callArgs] = args as [string, ASTNode, ASTNode[]];
        const base = resolve(receiver, scope);
        const [variable, ...body] = callArgs;
        if (macros.has(name) && variable?.op === 'id') {
          const element =
            base?.items ?? (base?.additionalProperties ? { type: 'string' as const } : undefined);
          const inner = new Map(scope).set(variable.args as string, element);
          for (const expression of body) resolve(expression, inner);
          return name === 'filter' ? base : undefined;
        }
        for (const expression of callArgs) resolve(expression, scope);
        return undefined;
      }
      case 'call':
        for (const expression of (args as [string, ASTNode[]])[1]) resolve(expression, scope);
        return undefined;
      case 'value':
        return undefined;
      case 'map':
        for (const [key, value] of args as [ASTNode, ASTNode][]) {
          resolve(key, scope);
          resolve(value, scope);
        }
        return undefined;
      default:
        for (const child of Array.isArray(args) ? args : [args]) resolve(child as ASTNode, scope);
        return undefined;
    }
  };
  resolve(parse(rule).ast, new Map([['self', self]]));
  return missing;
}

/** Declares the schema's object types to a cel-js environment, so rules are type-checked. */
function typedEnvironment(self: StructuralSchema): Environment {
  const env = new Environment();
  let count = 0;
  const typeOf = (node: StructuralSchema): string => {
    if (node['x-kubernetes-preserve-unknown-fields'] || node['x-kubernetes-int-or-string']) return 'dyn';
    switch (node.type) {
      case 'string':
        return 'string';
      case 'integer':
        return 'int';
      case 'number':
        return 'double';
      case 'boolean':
        return 'bool';
      case 'array':
        return `list<${node.items ? typeOf(node.items) : 'dyn'}>`;
      default: {
        if (node.additionalProperties) return `map<string, ${typeOf(node.additionalProperties)}>`;
        const fields = Object.fromEntries(
          Object.entries(node.properties ?? {}).map(([name, child]) => [name, typeOf(child)]),
        );
        const name = `Object${count++}`;
        env.registerType(name, { fields });
        return name;
      }
    }
  };
  env.registerVariable('self', typeOf(self));
  return env;
}

const allRules = schemas.flatMap(([kind, schema]) => rulesOf(schema).map((placed) => ({ kind, ...placed })));

describe('CEL rules', () => {
  it('exist on every kind', () => {
    expect(new Set(allRules.map((placed) => placed.kind))).toEqual(
      new Set(['Route', 'AIProvider', 'Consumer', 'Policy']),
    );
  });

  it.each(allRules.map((placed) => [`${placed.kind}${placed.path}`, placed.rule, placed.node]))(
    '%s: %s reads only fields that exist',
    (_where, rule, node) => {
      expect(unknownFields(rule, node)).toEqual([]);
    },
  );

  it.each(allRules.map((placed) => [`${placed.kind}${placed.path}`, placed.rule, placed.node]))(
    '%s: %s type-checks against the schema',
    (_where, rule, node) => {
      const result = typedEnvironment(node).check(rule);
      expect({ valid: result.valid, error: result.error?.message }).toEqual({
        valid: true,
        error: undefined,
      });
    },
  );

  it('notices a rule that reads a field the schema does not have', () => {
    const schema: StructuralSchema = {
      type: 'object',
      properties: {
        items: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' } } } },
      },
    };
    expect(unknownFields('has(self.itemz)', schema)).toEqual(['itemz']);
    expect(unknownFields('self.items.all(i, i.nam != "")', schema)).toEqual(['nam']);
    expect(unknownFields('self.items.all(i, i.name != "")', schema)).toEqual([]);
  });

  it('notices a rule that compares values of different types', () => {
    const schema: StructuralSchema = { type: 'object', properties: { port: { type: 'integer' } } };
    expect(typedEnvironment(schema).check("self.port == 'eighty'").valid).toBe(false);
    expect(typedEnvironment(schema).check('self.port == 80').valid).toBe(true);
  });
});

describe('CEL rules against the valid fixtures', () => {
  const documents = readdirSync(testdata)
    .filter((file) => file.startsWith('valid-'))
    .flatMap((file) => loadDocuments(join(testdata, file)));

  /** Every value in a parsed object that a rule applies to, with the rule's location. */
  function evaluations(
    schema: StructuralSchema,
    value: unknown,
    path = '',
  ): Array<{ path: string; rule: string; value: unknown }> {
    if (value === undefined || value === null) return [];
    const found = (schema['x-kubernetes-validations'] ?? []).map(({ rule }) => ({
      path,
      rule,
      value: value as unknown,
    }));
    if (schema.properties && typeof value === 'object') {
      for (const [name, child] of Object.entries(schema.properties)) {
        found.push(...evaluations(child, (value as Record<string, unknown>)[name], `${path}.${name}`));
      }
    }
    if (schema.items && Array.isArray(value)) {
      for (const item of value) found.push(...evaluations(schema.items, item, `${path}[*]`));
    }
    return found;
  }

  const runs = documents.flatMap((document) => {
    const result = parseObject(document);
    if (!result.ok) throw new Error(result.message);
    const schema = schemas.find(([kind]) => kind === document.kind)?.[1] as StructuralSchema;
    return evaluations(schema, result.object).map((run) => ({ kind: String(document.kind), ...run }));
  });

  it('evaluate to true, without evaluation errors', () => {
    const failures = runs.filter(({ rule, value }) => {
      try {
        return parse(rule)({ self: toCelValue(value) }) !== true;
      } catch {
        return true;
      }
    });
    expect(failures.map(({ kind, path, rule }) => `${kind}${path}: ${rule}`)).toEqual([]);
  });

  it('exercise every rule at least once', () => {
    const exercised = new Set(runs.map(({ kind, path, rule }) => `${kind}${path}: ${rule}`));
    const unexercised = allRules
      .map(({ kind, path, rule }) => `${kind}${path}: ${rule}`)
      .filter((key) => !exercised.has(key));
    expect(unexercised).toEqual([]);
  });
});
