// Writes crds/*.yaml (repository root) from the zod schemas of packages/api.
// Run: scripts/toolchain.sh pnpm generate   (or: scripts/toolchain.sh node packages/api/scripts/generate-crds.ts)
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { API_GROUP } from '../src/common.ts';
import { generateCRDFiles } from '../src/crd/index.ts';

const crdDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../../crds');
mkdirSync(crdDir, { recursive: true });

const files = generateCRDFiles();
const wanted = new Set(files.map((file) => file.fileName));
// A kind that was renamed or dropped must not leave its old CRD behind.
for (const name of readdirSync(crdDir)) {
  if (name.startsWith(`${API_GROUP}_`) && name.endsWith('.yaml') && !wanted.has(name))
    rmSync(join(crdDir, name));
}
for (const { fileName, content } of files) {
  writeFileSync(join(crdDir, fileName), content);
  console.log(`wrote crds/${fileName}`);
}
