// Parses a raw manifest into a typed object, turning schema errors into one message that names
// each offending field the way kubectl does (spec.rules[0].backendRefs[1].port).
import type { z } from 'zod';
import { type AnyObject, isObjectKind, objectSchemas } from './objects.ts';

export type ParseResult = { ok: true; object: AnyObject } | { ok: false; message: string };

export function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out ? `.${String(segment)}` : String(segment);
  }
  return out || '(root)';
}

export function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${fieldPath(issue.path)}: ${issue.message}`).join('; ');
}

/** Validates an object of any kind the translator understands. Unknown kinds are an error. */
export function parseObject(raw: unknown): ParseResult {
  const kind = (raw as { kind?: unknown } | null)?.kind;
  if (typeof kind !== 'string' || !isObjectKind(kind)) {
    return { ok: false, message: `kind: unsupported kind ${JSON.stringify(kind)}` };
  }
  const result = objectSchemas[kind].safeParse(raw);
  if (!result.success) return { ok: false, message: describeIssues(result.error) };
  return { ok: true, object: result.data as AnyObject };
}
