// JSON schemas for kubeconform, written locally (no network): the built-in kinds from the real API
// server's OpenAPI v2 document, custom resources from CRD manifests. Strict, like kubeconform's
// `-strict` schema sets: every object with declared properties rejects undeclared ones, unless the
// schema says it preserves unknown fields. (kubeconform's own converter, openapi2jsonschema, is
// Python; this is the same conversion.)
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

export type JsonSchema = { [keyword: string]: unknown };

const INT_OR_STRING = { oneOf: [{ type: 'string' }, { type: 'integer' }] };
// A resource.Quantity is written as a string ("128Mi") or a bare number (cpu: 1).
const QUANTITY_DEFINITION = 'io.k8s.apimachinery.pkg.api.resource.Quantity';

function isSchema(value: unknown): value is JsonSchema {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Makes one OpenAPI schema strict, recursively through every subschema position. */
export function strictSchema(schema: JsonSchema): JsonSchema {
  if (schema.format === 'int-or-string' || schema['x-kubernetes-int-or-string'] === true) {
    return { description: schema.description, ...INT_OR_STRING };
  }
  const out: JsonSchema = { ...schema };
  if (out.nullable === true && typeof out.type === 'string') out.type = [out.type, 'null'];
  if (isSchema(out.properties)) {
    out.properties = Object.fromEntries(
      Object.entries(out.properties).map(([name, sub]) => [name, isSchema(sub) ? strictSchema(sub) : sub]),
    );
    if (out.additionalProperties === undefined && out['x-kubernetes-preserve-unknown-fields'] !== true) {
      out.additionalProperties = false;
    }
  }
  if (isSchema(out.additionalProperties)) out.additionalProperties = strictSchema(out.additionalProperties);
  if (isSchema(out.items)) out.items = strictSchema(out.items);
  for (const keyword of ['allOf', 'anyOf', 'oneOf'] as const) {
    const list = out[keyword];
    if (Array.isArray(list)) out[keyword] = list.map((sub) => (isSchema(sub) ? strictSchema(sub) : sub));
  }
  if (isSchema(out.not)) out.not = strictSchema(out.not);
  return out;
}

interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

/** kubeconform's {{.Group}}: the part of apiVersion before the slash ("apps"), or the version for core ("v1"). */
function groupDirectory(gvk: GroupVersionKind): string {
  return gvk.group === '' ? gvk.version : gvk.group;
}

function refsIn(value: unknown, found: Set<string>): void {
  if (Array.isArray(value)) {
    for (const item of value) refsIn(item, found);
  } else if (isSchema(value)) {
    for (const [key, sub] of Object.entries(value)) {
      if (key === '$ref' && typeof sub === 'string' && sub.startsWith('#/definitions/')) {
        found.add(sub.slice('#/definitions/'.length));
      } else {
        refsIn(sub, found);
      }
    }
  }
}

/**
 * One self-contained schema per built-in kind, keyed by its path under the schema directory
 * (`<group>/<kind>_<version>.json`): the kind's definition plus every definition it references.
 */
export function builtinKindSchemas(openapi: {
  definitions: Record<string, JsonSchema>;
}): Map<string, JsonSchema> {
  const definitions = new Map<string, JsonSchema>();
  for (const [name, definition] of Object.entries(openapi.definitions)) {
    definitions.set(
      name,
      name === QUANTITY_DEFINITION
        ? { description: definition.description, oneOf: [{ type: 'string' }, { type: 'number' }] }
        : strictSchema(definition),
    );
  }
  const files = new Map<string, JsonSchema>();
  for (const [name, definition] of Object.entries(openapi.definitions)) {
    const gvks = definition['x-kubernetes-group-version-kind'];
    // Definitions shared by many kinds (DeleteOptions, WatchEvent) are not objects anyone applies.
    if (!Array.isArray(gvks) || gvks.length !== 1) continue;
    const gvk = gvks[0] as GroupVersionKind;
    const closure = new Set<string>();
    const pending = [name];
    while (pending.length > 0) {
      const next = pending.pop()!;
      const referenced = new Set<string>();
      refsIn(definitions.get(next), referenced);
      for (const ref of referenced) {
        if (!closure.has(ref)) {
          closure.add(ref);
          pending.push(ref);
        }
      }
    }
    const file = `${groupDirectory(gvk)}/${gvk.kind.toLowerCase()}_${gvk.version}.json`;
    files.set(file, {
      ...definitions.get(name),
      definitions: Object.fromEntries([...closure].sort().map((ref) => [ref, definitions.get(ref)])),
    });
  }
  return files;
}

interface CustomResourceDefinition {
  kind: string;
  spec: {
    names: { kind: string };
    versions: Array<{ name: string; schema?: { openAPIV3Schema?: JsonSchema } }>;
  };
}

/** One schema per served version of each CRD, keyed `<kind>_<version>.json` (lowercase kind). */
export function crdSchemas(crds: readonly unknown[]): Map<string, JsonSchema> {
  const files = new Map<string, JsonSchema>();
  for (const object of crds) {
    const crd = object as CustomResourceDefinition;
    if (crd?.kind !== 'CustomResourceDefinition') continue;
    for (const version of crd.spec.versions) {
      const schema = version.schema?.openAPIV3Schema;
      if (!schema) continue;
      const file = `${crd.spec.names.kind.toLowerCase()}_${version.name}.json`;
      if (files.has(file)) throw new Error(`two CRDs map to the schema file ${file}`);
      files.set(file, strictSchema(schema));
    }
  }
  return files;
}

export interface SchemaDirectory {
  /** kubeconform -schema-location values, most specific first. */
  locations: string[];
}

/** Writes built-in and CRD schemas under `dir` and returns the matching kubeconform locations. */
export async function writeSchemaDirectory(
  dir: string,
  builtin: Map<string, JsonSchema>,
  custom: Map<string, JsonSchema>,
): Promise<SchemaDirectory> {
  for (const [sub, files] of [
    ['builtin', builtin],
    ['crds', custom],
  ] as const) {
    for (const [file, schema] of files) {
      const target = path.join(dir, sub, file);
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, JSON.stringify(schema));
    }
  }
  return {
    locations: [
      `${dir}/builtin/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json`,
      `${dir}/crds/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json`,
    ],
  };
}
