// Cross-field rules are written once, in CEL. The CRD generator copies them into
// `x-kubernetes-validations` for the API server; the zod schemas evaluate the very same
// expressions, so manifests that never pass an API server (the file source) obey the same rules.
import { parse } from '@marcbachmann/cel-js';
import { z } from 'zod';

/** One `x-kubernetes-validations` entry. */
export interface ValidationRule {
  /** CEL expression over `self` (the value of the schema the rule is attached to). Must be true. */
  rule: string;
  /** Error message shown when the rule is false. */
  message: string;
  /** Field the error is reported on, relative to `self`, e.g. ".url" or ".spec.rules". */
  fieldPath?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
}

type CelValue = string | bigint | number | boolean | null | CelValue[] | { [key: string]: CelValue };

/** JSON-like data as the API server hands it to CEL: integral numbers are CEL ints. */
export function toCelValue(value: unknown): CelValue {
  if (typeof value === 'number') return Number.isInteger(value) ? BigInt(value) : value;
  if (Array.isArray(value)) return value.map(toCelValue);
  if (value !== null && typeof value === 'object') {
    const out: { [key: string]: CelValue } = {};
    for (const [key, item] of Object.entries(value)) if (item !== undefined) out[key] = toCelValue(item);
    return out;
  }
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  return null;
}

/** ".a.b" -> ["a", "b"]; the subset of fieldPath syntax rules here use. */
function fieldPathSegments(fieldPath: string | undefined): string[] {
  if (!fieldPath) return [];
  if (!/^(\.[A-Za-z_][A-Za-z0-9_]*)+$/.test(fieldPath)) {
    throw new Error(`fieldPath ${JSON.stringify(fieldPath)} must look like ".field" or ".field.subfield"`);
  }
  return fieldPath.slice(1).split('.');
}

/** Reads the metadata zod would emit for `schema` (own and inherited). */
export function metaOf(schema: z.ZodType): Record<string, unknown> {
  return { ...(z.globalRegistry.get(schema) ?? {}) };
}

/**
 * Attaches CEL rules to a schema: emitted into the CRD as `x-kubernetes-validations` and checked on
 * every parse (evaluated against the parsed value, defaults applied, as the API server does).
 * A rule that fails to evaluate (for example reads a field that is not set) counts as false.
 */
export function withRules<T extends z.ZodType>(schema: T, rules: readonly ValidationRule[]): T {
  const compiled = rules.map((rule) => {
    try {
      return { rule, evaluate: parse(rule.rule), path: fieldPathSegments(rule.fieldPath) };
    } catch (error) {
      throw new Error(`invalid CEL rule ${JSON.stringify(rule.rule)}: ${(error as Error).message}`);
    }
  });
  const meta = metaOf(schema);
  const existing = (meta['x-kubernetes-validations'] as ValidationRule[] | undefined) ?? [];
  const checked = schema.superRefine((value, ctx) => {
    const self = toCelValue(value);
    for (const { rule, evaluate, path } of compiled) {
      let holds = false;
      try {
        holds = evaluate({ self }) === true;
      } catch {
        holds = false;
      }
      if (!holds) ctx.addIssue({ code: 'custom', message: rule.message, path: [...path], input: value }); // zod prefixes paths in place
    }
  });
  return checked.meta({ ...meta, 'x-kubernetes-validations': [...existing, ...rules] }) as T;
}

/**
 * A list whose items are identified by `keys` (`x-kubernetes-list-type: map`): the API server merges
 * it per item on server-side apply and rejects duplicates; zod rejects duplicates too.
 */
export function listMap<T extends z.ZodArray>(schema: T, keys: readonly [string, ...string[]]): T {
  const meta = metaOf(schema);
  const checked = schema.superRefine((items, ctx) => {
    const seen = new Set<string>();
    items.forEach((item, index) => {
      const id = JSON.stringify(keys.map((key) => (item as Record<string, unknown>)[key]));
      if (seen.has(id)) {
        ctx.addIssue({
          code: 'custom',
          message: `duplicate ${keys.join('+')} ${id.slice(1, -1)}: each item needs a distinct ${keys.join(' and ')}`,
          path: [index, keys[0]],
          input: item,
        });
      }
      seen.add(id);
    });
  });
  return checked.meta({
    ...meta,
    'x-kubernetes-list-type': 'map',
    'x-kubernetes-list-map-keys': [...keys],
  }) as T;
}

/** A list of distinct scalars (`x-kubernetes-list-type: set`); zod rejects duplicates too. */
export function listSet<T extends z.ZodArray>(schema: T): T {
  const meta = metaOf(schema);
  const checked = schema.superRefine((items, ctx) => {
    const seen = new Set<unknown>();
    items.forEach((item, index) => {
      if (seen.has(item)) {
        ctx.addIssue({
          code: 'custom',
          message: `duplicate value ${JSON.stringify(item)}`,
          path: [index],
          input: item,
        });
      }
      seen.add(item);
    });
  });
  return checked.meta({ ...meta, 'x-kubernetes-list-type': 'set' }) as T;
}

/** A string->string map with at most `maxEntries` entries (`maxProperties` in the CRD). */
export function boundedMap<T extends z.ZodRecord>(schema: T, maxEntries: number): T {
  const meta = metaOf(schema);
  const checked = schema.superRefine((map, ctx) => {
    const size = Object.keys(map as object).length;
    if (size > maxEntries) {
      ctx.addIssue({
        code: 'custom',
        message: `must have at most ${maxEntries} entries (has ${size})`,
        input: map,
      });
    }
  });
  return checked.meta({ ...meta, maxProperties: maxEntries }) as T;
}
