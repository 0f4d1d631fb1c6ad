// Ahead-of-time build of the data plane: `dataplane/src/main.ts` and everything it imports bundled
// into plain ESM JavaScript under `dataplane/dist/` (`make build`, or
// `scripts/toolchain.sh node scripts/build-dataplane.ts`). Production runs `node dataplane/dist/main.js`:
// no TypeScript type stripper in the process (~17 MiB), one module record per chunk instead of
// ~170, no per-module source kept. What the sources load lazily (`await import(…)`: the tokenizer,
// the Redis client, the usage CLI) stays lazy: each becomes its own chunk, read on first use.
// Source maps sit next to the chunks and are applied to stack traces (--enable-source-maps is set
// by the bundle's entry), so a trace names dataplane/src/… files and lines.
//
// The OpenTelemetry SDK is the one piece loaded with a synchronous require (packages/telemetry,
// only when tracing is on); it is bundled apart as `otel-sdk-node.cjs` and that require is pointed
// at it, so the bundle needs no node_modules at run time.
import { readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { build, type Plugin } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** The build output; `node <outdir>/main.js` is the data plane. */
export const DATAPLANE_DIST = path.join(root, 'dataplane/dist');

const OTEL_SDK = '@opentelemetry/sdk-node';
const OTEL_SDK_CHUNK = './otel-sdk-node.cjs';
const tracingSource = path.join(root, 'packages/telemetry/src/tracing.ts');

/** Points the tracing module's require of the OpenTelemetry SDK at the separately built chunk. */
const otelSdkChunk: Plugin = {
  name: 'otel-sdk-chunk',
  setup(b) {
    b.onLoad({ filter: /[\\/]packages[\\/]telemetry[\\/]src[\\/]tracing\.ts$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      const call = `'${OTEL_SDK}',\n    ) as typeof`;
      if (!source.includes(call))
        throw new Error(`${args.path}: the require of ${OTEL_SDK} changed shape; update ${import.meta.url}`);
      return { contents: source.replace(call, `'${OTEL_SDK_CHUNK}',\n    ) as typeof`), loader: 'ts' };
    });
  },
};

/**
 * The tokenizer's rank table (gpt-tokenizer's o200k_base: two array literals of 200,000 strings) as
 * one JSON.parse of the same data: V8 parses JSON far more cheaply than a literal of that size (no
 * syntax tree, no bytecode constant pool holding the elements), which the data plane's memory shows
 * once AI providers load the tokenizer.
 */
const rankTableAsJson: Plugin = {
  name: 'rank-table-as-json',
  setup(b) {
    b.onLoad({ filter: /[\\/]gpt-tokenizer[\\/]esm[\\/]bpeRanks[\\/]o200k_base\.js$/ }, async (args) => {
      const { default: ranks } = (await import(pathToFileURL(args.path).href)) as { default: unknown };
      if (!Array.isArray(ranks) || ranks.length < 100_000)
        throw new Error(`${args.path}: expected the rank table as its default export`);
      return {
        contents: `export default JSON.parse(${JSON.stringify(JSON.stringify(ranks))});`,
        loader: 'js',
      };
    });
  },
};

export async function buildDataplane(outdir = DATAPLANE_DIST): Promise<void> {
  rmSync(outdir, { recursive: true, force: true });
  const common = {
    bundle: true,
    platform: 'node',
    target: 'node24',
    // Maps name the sources (relative paths) without embedding them: mappings are all a stack
    // trace needs (`node --enable-source-maps dataplane/dist/main.js`).
    sourcemap: 'linked',
    sourcesContent: false,
    legalComments: 'none',
    logLevel: 'warning',
    // Whitespace only: names stay as written, so stack traces and profiles stay readable without
    // the maps (a bundle with its whitespace kept measured more RSS idle).
    minifyWhitespace: true,
  } as const;
  await build({
    ...common,
    entryPoints: { main: path.join(root, 'dataplane/src/main.ts') },
    outdir,
    format: 'esm',
    splitting: true,
    // Chunks sit beside main.js: the tracing module's require of './otel-sdk-node.cjs' resolves
    // from whichever output file esbuild puts that module in.
    chunkNames: '[name]-[hash]',
    // CommonJS dependencies bundled into ESM call require() for Node's built-ins.
    banner: {
      js: "import { createRequire as __tollgateCreateRequire } from 'node:module'; const require = __tollgateCreateRequire(import.meta.url);",
    },
    plugins: [otelSdkChunk, rankTableAsJson],
  });
  // Resolved from the telemetry package, whose dependency it is.
  const sdkEntry = createRequire(tracingSource).resolve(OTEL_SDK);
  await build({
    ...common,
    entryPoints: [sdkEntry],
    outfile: path.join(outdir, OTEL_SDK_CHUNK),
    format: 'cjs',
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  // --outdir DIR: elsewhere (a test); main.js reads DIR/../package.json for its build version.
  const { values } = parseArgs({ options: { outdir: { type: 'string' } } });
  const outdir = values.outdir ? path.resolve(values.outdir) : DATAPLANE_DIST;
  const started = performance.now();
  await buildDataplane(outdir);
  process.stdout.write(
    `data plane built into ${path.relative(process.cwd(), outdir) || '.'} in ${Math.round(performance.now() - started)} ms\n`,
  );
}
