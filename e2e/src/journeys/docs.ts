// The manifests of a journey come from the docs themselves, section by section, so a doc that
// stops working as-is fails a test instead of a user.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';

const root = path.resolve(import.meta.dirname, '../../..');

/** One Kubernetes object as written in the docs (loosely typed: tests patch a field or two). */
export interface DocObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [key: string]: unknown };
  spec?: Record<string, unknown>;
  stringData?: Record<string, string>;
  [key: string]: unknown;
}

/** The text of `## heading` (up to the next heading of the same level) in a file under docs/. */
export function docsSection(file: string, heading: string): string {
  const markdown = readFileSync(path.join(root, 'docs', file), 'utf8');
  const start = markdown.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`docs/${file} has no section "## ${heading}"`);
  const rest = markdown.slice(start + 1);
  const end = rest.indexOf('\n## ', 3);
  return end < 0 ? rest : rest.slice(0, end);
}

/** Every object of every ```yaml block of a section, in order. */
export function docsObjects(file: string, heading: string): DocObject[] {
  const blocks = [...docsSection(file, heading).matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
  if (blocks.length === 0) throw new Error(`docs/${file} "## ${heading}" has no yaml block`);
  return blocks.flatMap((block) =>
    parseAllDocuments(block)
      .map((doc) => doc.toJS() as DocObject | null)
      .filter((o): o is DocObject => o !== null),
  );
}

/** Objects back to one multi-document YAML stream, for `kubectl apply -f -`. */
export function toYaml(objects: DocObject[]): string {
  return objects.map((o) => stringify(o)).join('---\n');
}

/** The one object of a kind and name (throws when the docs no longer have it). */
export function find(objects: DocObject[], kind: string, name: string): DocObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`the docs have no ${kind} "${name}"`);
  return found;
}
