// Assembles the file system an image's Dockerfile would produce, without a container engine: the
// build stage's COPY instructions (with the build context filtered by .dockerignore, as Docker does)
// and its `pnpm install` run for real, then the runtime stage's COPY --from. The result runs with
// this machine's node, which is the base image's version (a test checks that). It catches what a
// Dockerfile gets wrong that only shows at run time: a file the app needs left out of the context or
// of the copy, a workspace package not installed, a dependency pruned too far.
import { cp, mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Ignore } from '@balena/dockerignore';
import { type DockerInstruction, type DockerStage, lastOf, parseDockerfile } from './dockerfile.ts';
import { run } from './exec.ts';
import { repoRoot } from './tools.ts';

export interface AssembledImage {
  /** Host directory standing for the runtime stage's root (/). */
  root: string;
  /** Host directory of the runtime stage's WORKDIR. */
  workdir: string;
  entrypoint: string[];
  cmd: string[];
  user?: string;
  env: Record<string, string>;
}

// A CommonJS module whose typings declare an ES default export: load it the CommonJS way.
const dockerignore = createRequire(import.meta.url)('@balena/dockerignore') as () => Ignore;

export async function dockerContextFilter(): Promise<(relativePath: string) => boolean> {
  const rules = await readFile(path.join(repoRoot, '.dockerignore'), 'utf8');
  const ignore = dockerignore().add(rules);
  return (relativePath) => !ignore.ignores(relativePath);
}

async function copyFromContext(
  source: string,
  destination: string,
  included: (relativePath: string) => boolean,
): Promise<void> {
  const relative = path.normalize(source).replace(/\/$/, '');
  const info = await stat(path.join(repoRoot, relative));
  if (info.isDirectory()) {
    // COPY dir/ dest/ copies the directory's contents into dest.
    const walk = async (rel: string, dest: string): Promise<void> => {
      for (const entry of await readdir(path.join(repoRoot, rel), { withFileTypes: true })) {
        const childRel = path.join(rel, entry.name);
        if (!included(childRel)) continue;
        const childDest = path.join(dest, entry.name);
        if (entry.isDirectory()) await walk(childRel, childDest);
        else {
          await mkdir(dest, { recursive: true });
          await cp(path.join(repoRoot, childRel), childDest);
        }
      }
    };
    await walk(relative, destination);
  } else if (included(relative)) {
    await mkdir(path.dirname(destination), { recursive: true });
    await cp(path.join(repoRoot, relative), destination);
  } else {
    throw new Error(`COPY ${source}: excluded by .dockerignore`);
  }
}

function containerPath(root: string, workdir: string, target: string): string {
  return path.join(root, path.isAbsolute(target) ? target : path.join(workdir, target));
}

function unsupported(stage: DockerStage, instruction: DockerInstruction): Error {
  return new Error(
    `image assembly does not model line ${instruction.line} (${instruction.keyword} ${instruction.args.join(' ')}) ` +
      `of stage ${stage.name ?? '(runtime)'}: teach e2e/src/chart/image.ts what it does`,
  );
}

/**
 * Builds `<component>/Dockerfile` into `outDir`. `storeDir` stands for the build's pnpm store cache
 * mount (pass the machine's store: the install then copies from it instead of downloading).
 */
export async function assembleImage(
  component: string,
  outDir: string,
  storeDir: string,
): Promise<AssembledImage> {
  const stages = parseDockerfile(await readFile(path.join(repoRoot, component, 'Dockerfile'), 'utf8'));
  const included = await dockerContextFilter();
  const roots = new Map<string, string>();
  let assembled: AssembledImage | undefined;
  for (const [index, stage] of stages.entries()) {
    const root = path.join(outDir, stage.name ?? `stage-${index}`);
    await mkdir(root, { recursive: true });
    if (stage.name) roots.set(stage.name, root);
    let workdir = '/';
    const env: Record<string, string> = {};
    for (const instruction of stage.instructions) {
      switch (instruction.keyword) {
        case 'WORKDIR':
          workdir = path.resolve(workdir, instruction.args[0]!);
          await mkdir(path.join(root, workdir), { recursive: true });
          break;
        case 'ENV':
          for (const pair of instruction.args) {
            const [key, ...value] = pair.split('=');
            env[key!] = value.join('=').replace(/^"|"$/g, '');
          }
          break;
        case 'COPY': {
          const sources = instruction.args.slice(0, -1);
          const target = instruction.args.at(-1)!;
          const from = instruction.flags.from;
          for (const source of sources) {
            const destination = containerPath(root, workdir, target);
            if (from) {
              const fromRoot = roots.get(from);
              if (!fromRoot) throw unsupported(stage, instruction);
              await cp(path.join(fromRoot, source), destination, { recursive: true, verbatimSymlinks: true });
            } else {
              const into =
                target.endsWith('/') && !source.endsWith('/')
                  ? path.join(destination, path.basename(source))
                  : destination;
              await copyFromContext(source, into, included);
            }
          }
          break;
        }
        case 'RUN': {
          const [command, ...rest] = instruction.args;
          if (command === 'pnpm' && rest[0] === 'install') {
            const pnpmArgs = rest.map((a) => a.replaceAll('/pnpm/store', storeDir));
            // Hard links from the local store where possible: the same files as copies, much faster.
            await run(
              'pnpm',
              [...pnpmArgs, '--package-import-method=auto', '--prefer-offline', '--reporter=silent'],
              {
                cwd: path.join(root, workdir),
                env: { ...env, CI: 'true' },
              },
            );
          } else if (
            command === 'npm' &&
            rest.includes('--global') &&
            rest.some((a) => a.startsWith('pnpm@'))
          ) {
            // Installs pnpm itself: this machine's pnpm stands in (same pinned version, checked by a test).
          } else if (command === 'node' && rest.length === 1 && rest[0]!.startsWith('scripts/')) {
            // A build script of ours (the data plane's bundle), with this machine's node.
            await run(process.execPath, rest, { cwd: path.join(root, workdir), env: { ...env } });
          } else if (command === 'rm' && !stage.name) {
            // Removes base-image files (package managers) from the runtime stage: nothing of ours.
          } else {
            throw unsupported(stage, instruction);
          }
          break;
        }
        case 'ARG': // only the pinned pnpm version, which this machine's pnpm stands in for
        case 'USER':
        case 'EXPOSE':
        case 'STOPSIGNAL':
        case 'LABEL':
        case 'ENTRYPOINT':
        case 'CMD':
          break;
        default:
          throw unsupported(stage, instruction);
      }
    }
    assembled = {
      root,
      workdir: path.join(root, workdir),
      entrypoint: lastOf(stage, 'ENTRYPOINT')?.json ?? [],
      cmd: lastOf(stage, 'CMD')?.json ?? [],
      user: lastOf(stage, 'USER')?.args[0],
      env,
    };
  }
  if (!assembled) throw new Error(`${component}/Dockerfile has no stage`);
  return assembled;
}
