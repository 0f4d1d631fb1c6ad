// The chart ships the CRDs in charts/tollgate/crds/ (Helm installs that directory before the
// templates). Each file is a copy of the one in crds/, which packages/api generates: a copy rather
// than a symlink, so `helm package`, `helm pull` and Git-based deployers see plain files everywhere.
// The copy starts with a document separator: `helm show crds` concatenates the files as they are,
// and `helm show crds <chart> | kubectl apply -f -` needs the documents apart.
//
//   scripts/toolchain.sh node e2e/src/chart/sync-crds.ts     # after `make generate`
//
// A test fails while the copy differs from crds/.
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { repoRoot } from './tools.ts';

export const generatedCrdDir = path.join(repoRoot, 'crds');
export const chartCrdDir = path.join(repoRoot, 'charts/tollgate/crds');

async function yamlFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f.endsWith('.yaml')).sort();
}

/** The chart's copy of a generated CRD file: the same text, as a YAML document of its own. */
export function chartCopyOf(generated: string): string {
  return generated.startsWith('---\n') ? generated : `---\n${generated}`;
}

/** Human-readable differences between crds/ and the chart's copy; empty when in sync. */
export async function crdCopyDifferences(): Promise<string[]> {
  const [generated, copied] = await Promise.all([yamlFiles(generatedCrdDir), yamlFiles(chartCrdDir)]);
  const differences: string[] = [];
  for (const file of generated) {
    if (!copied.includes(file)) {
      differences.push(`${file}: missing from charts/tollgate/crds/`);
      continue;
    }
    const [generatedText, copiedText] = await Promise.all([
      readFile(path.join(generatedCrdDir, file), 'utf8'),
      readFile(path.join(chartCrdDir, file), 'utf8'),
    ]);
    if (copiedText !== chartCopyOf(generatedText)) differences.push(`${file}: differs from crds/${file}`);
  }
  for (const file of copied) {
    if (!generated.includes(file)) differences.push(`${file}: in charts/tollgate/crds/ but not in crds/`);
  }
  return differences;
}

/** Makes charts/tollgate/crds/ an exact copy of crds/. */
export async function syncChartCrds(): Promise<void> {
  const generated = await yamlFiles(generatedCrdDir);
  for (const file of await yamlFiles(chartCrdDir)) {
    if (!generated.includes(file)) await rm(path.join(chartCrdDir, file));
  }
  for (const file of generated) {
    const text = await readFile(path.join(generatedCrdDir, file), 'utf8');
    await writeFile(path.join(chartCrdDir, file), chartCopyOf(text));
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await syncChartCrds();
  process.stdout.write(`charts/tollgate/crds/ now matches crds/\n`);
}
