// Shared by the api tests: fixture loading and a walk over structural schemas.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import type { StructuralSchema } from '../src/crd/index.ts';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '../../..');
export const testdata = join(dirname(fileURLToPath(import.meta.url)), 'testdata');

/** Every YAML document of a file, as plain data. */
export function loadDocuments(path: string): Record<string, unknown>[] {
  return parseAllDocuments(readFileSync(path, 'utf8'))
    .map((document) => document.toJS() as Record<string, unknown> | null)
    .filter((document): document is Record<string, unknown> => document !== null);
}

export function nameOf(document: Record<string, unknown>): string {
  const metadata = document.metadata as { name?: string } | undefined;
  return `${String(document.kind)}/${metadata?.name ?? '?'}`;
}

/** Visits every node of a structural schema with a kubectl-style path (".spec.rules[*].name"). */
export function walkSchema(
  schema: StructuralSchema,
  visit: (node: StructuralSchema, path: string) => void,
  path = '',
): void {
  visit(schema, path);
  for (const [name, child] of Object.entries(schema.properties ?? {}))
    walkSchema(child, visit, `${path}.${name}`);
  if (schema.items) walkSchema(schema.items, visit, `${path}[*]`);
  if (schema.additionalProperties) walkSchema(schema.additionalProperties, visit, `${path}{*}`);
}
