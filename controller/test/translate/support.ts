// Shared by the translation tests: reading manifests and writing results as stable YAML.
import { readFileSync } from 'node:fs';
import { parseAllDocuments, stringify } from 'yaml';

/** Every document of a multi-document YAML file (empty documents skipped). */
export function loadObjects(file: string): unknown[] {
  return parseAllDocuments(readFileSync(file, 'utf8'))
    .map((document) => {
      if (document.errors.length > 0) throw new Error(`${file}: ${document.errors[0]!.message}`);
      return document.toJS() as unknown;
    })
    .filter((value) => value !== null && value !== undefined);
}

/** YAML without anchors (entries shared by several hosts are written out each time) or folding. */
export function toYaml(value: unknown): string {
  return stringify(value, { aliasDuplicateObjects: false, lineWidth: 0 });
}
