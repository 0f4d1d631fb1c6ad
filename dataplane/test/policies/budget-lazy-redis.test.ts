// The Redis client loads only with --redis: the data plane, its policy chain (rate limits,
// budgets) and the policies module load without it; the Redis stores' own entry point loads it.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const src = path.resolve(import.meta.dirname, '../../src');

/** How many ioredis modules a fresh Node process has loaded after importing `modules`. */
async function ioredisModulesAfter(modules: string[]): Promise<number> {
  const code = `
    import { createRequire } from 'node:module';
    ${modules.map((m) => `await import(${JSON.stringify(path.join(src, m))});`).join('\n')}
    const cache = createRequire(import.meta.url).cache;
    process.stdout.write(String(Object.keys(cache).filter((k) => k.includes('ioredis')).length));
  `;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', code], { cwd: src });
  return Number(stdout);
}

test('a data plane without --redis never loads the Redis client', async () => {
  expect(await ioredisModulesAfter(['dataplane.ts', 'policies/index.ts', 'generation.ts'])).toBe(0);
});

test('the Redis stores entry point does load it', async () => {
  expect(await ioredisModulesAfter(['policies/redis.ts'])).toBeGreaterThan(0);
});
