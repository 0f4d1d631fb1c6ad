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
  const markdown = docsPage(file);
  const start = markdown.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`docs/${file} has no section "## ${heading}"`);
  const rest = markdown.slice(start + 1);
  const end = rest.indexOf('\n## ', 3);
  return end < 0 ? rest : rest.slice(0, end);
}

/** The text of a file under docs/. */
export function docsPage(file: string): string {
  return readFileSync(path.join(root, 'docs', file), 'utf8');
}

/** The contents of every ```yaml block of a markdown text, in order. */
export function yamlBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

/** The ```yaml blocks of each `## heading` of a docs file (every heading must exist), in order. */
export function docsYaml(file: string, ...headings: string[]): string[] {
  return headings.flatMap((heading) => yamlBlocks(docsSection(file, heading)));
}

/** Every object of multi-document YAML texts, in order (empty documents left out). */
export function yamlObjects(texts: string[]): DocObject[] {
  return texts.flatMap((text) =>
    parseAllDocuments(text)
      .map((doc) => doc.toJS() as DocObject | null)
      .filter((o): o is DocObject => o !== null),
  );
}

/** Every object of every ```yaml block of a docs page, in order. */
export function docsPageObjects(file: string): DocObject[] {
  return yamlObjects(yamlBlocks(docsPage(file)));
}

/** Every object of every ```yaml block of a section, in order. */
export function docsObjects(file: string, heading: string): DocObject[] {
  const blocks = docsYaml(file, heading);
  if (blocks.length === 0) throw new Error(`docs/${file} "## ${heading}" has no yaml block`);
  return yamlObjects(blocks);
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
