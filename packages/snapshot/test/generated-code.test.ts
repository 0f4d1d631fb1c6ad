// The generated protobuf code is committed; this regenerates it into a temp dir with the pinned
// buf + protoc-gen-es and fails if the committed files differ (run `pnpm --filter
// @tollgate/snapshot run generate` to fix).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');

function filesUnder(root: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const entry of readdirSync(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files.set(relative(root, path), readFileSync(path, 'utf8'));
  }
  return files;
}

describe('generated protobuf code', () => {
  it('is up to date with proto/ (regenerate with `pnpm --filter @tollgate/snapshot run generate`)', () => {
    const out = mkdtempSync(join(tmpdir(), 'tollgate-buf-'));
    try {
      const bin = join(packageDir, 'node_modules', '.bin');
      execFileSync(join(bin, 'buf'), ['generate', '--output', out], {
        cwd: packageDir,
        stdio: 'pipe',
        // buf finds protoc-gen-es on PATH; the pnpm shims need this very node.
        env: { ...process.env, PATH: [bin, dirname(process.execPath), process.env.PATH].join(delimiter) },
      });
      const fresh = filesUnder(join(out, 'src', 'gen'));
      const committed = filesUnder(join(packageDir, 'src', 'gen'));
      expect([...committed.keys()].sort()).toEqual([...fresh.keys()].sort());
      for (const [path, content] of fresh)
        expect({ path, content: committed.get(path) }).toEqual({ path, content });
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
