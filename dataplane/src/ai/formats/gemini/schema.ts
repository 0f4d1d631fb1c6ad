// JSON Schema (as OpenAI clients write tool parameters and response schemas) → Gemini's Schema, an
// OpenAPI 3.0 subset that answers 400 to any field it does not know ("additionalProperties",
// "$schema", "strict", …). Known fields are kept, `type: [t, "null"]` becomes `nullable`, `const`
// an enum of one, and local `$ref`s into `$defs`/`definitions` are inlined (bounded depth).
import { isRecord } from '../http.ts';

const KEPT = new Set([
  'type',
  'format',
  'title',
  'description',
  'nullable',
  'enum',
  'maxItems',
  'minItems',
  'minProperties',
  'maxProperties',
  'minLength',
  'maxLength',
  'pattern',
  'example',
  'default',
  'minimum',
  'maximum',
  'propertyOrdering',
]);
/** Recursive schemas cannot be expressed; past this depth a $ref becomes an unconstrained object. */
const MAX_REF_DEPTH = 8;

export function toGeminiSchema(schema: Record<string, unknown>): Record<string, unknown> {
  const defs = { ...asRecord(schema.definitions), ...asRecord(schema.$defs) };
  return convert(schema, defs, 0);
}

function asRecord(value: unknown): Record<string, unknown> {
  return isRecord(value) ? value : {};
}

function convert(schema: unknown, defs: Record<string, unknown>, depth: number): Record<string, unknown> {
  if (!isRecord(schema)) return {};
  if (typeof schema.$ref === 'string') {
    const name = /^#\/(?:\$defs|definitions)\/(.+)$/.exec(schema.$ref)?.[1];
    const target = name === undefined ? undefined : defs[decodeURIComponent(name)];
    if (target === undefined || depth >= MAX_REF_DEPTH) return { type: 'object' };
    return convert(target, defs, depth + 1);
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) if (KEPT.has(key)) out[key] = value;
  if (Array.isArray(schema.type)) {
    const types = schema.type.filter((t) => t !== 'null');
    if (types.length < schema.type.length) out.nullable = true;
    if (types.length === 1) out.type = types[0];
    else {
      delete out.type;
      if (types.length > 1) out.anyOf = types.map((type) => ({ type }));
    }
  }
  if (schema.const !== undefined && out.enum === undefined) out.enum = [schema.const];
  if (isRecord(schema.properties)) {
    out.properties = Object.fromEntries(
      Object.entries(schema.properties).map(([name, value]) => [name, convert(value, defs, depth)]),
    );
  }
  if (Array.isArray(schema.required)) out.required = schema.required;
  if (schema.items !== undefined) out.items = convert(schema.items, defs, depth);
  const union = Array.isArray(schema.anyOf)
    ? schema.anyOf
    : Array.isArray(schema.oneOf)
      ? schema.oneOf
      : undefined;
  if (union) {
    const nonNull = union.filter((s) => !(isRecord(s) && s.type === 'null'));
    if (nonNull.length < union.length) out.nullable = true;
    if (nonNull.length === 1) Object.assign(out, convert(nonNull[0], defs, depth));
    else out.anyOf = nonNull.map((s) => convert(s, defs, depth));
  }
  return out;
}
