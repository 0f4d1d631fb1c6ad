// Watches a directory of YAML manifests (recursively, multi-document, Secrets included) and
// emits the whole object set whenever a file changes. A file that stops parsing keeps its last
// good objects in the set, so a half-saved edit never takes routes down; the parse error is
// reported as a problem until the file is fixed.
import { EventEmitter } from 'node:events';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { type FSWatcher, watch } from 'chokidar';
import { parseAllDocuments } from 'yaml';
import type { ObjectSource, SourceProblem, SourceState } from './source.ts';

export interface FileSourceOptions {
  directory: string;
  /** Quiet period after the last file event before the set is re-read. */
  debounceMs?: number;
}

interface FileEntry {
  objects: unknown[];
  problem?: SourceProblem;
}

const MANIFEST = /\.ya?ml$/i;

export class FileSource extends EventEmitter<{ change: [SourceState] }> implements ObjectSource {
  readonly #directory: string;
  readonly #debounceMs: number;
  readonly #files = new Map<string, FileEntry>();
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #dirty = new Set<string>();
  #state: SourceState = { objects: [], problems: [] };
  #reading: Promise<void> = Promise.resolve();

  constructor(options: FileSourceOptions) {
    super();
    this.#directory = path.resolve(options.directory);
    this.#debounceMs = options.debounceMs ?? 50;
  }

  async start(): Promise<void> {
    this.#watcher = watch(this.#directory, {
      ignoreInitial: true,
      ignored: (file, stats) => Boolean(stats?.isFile() && !MANIFEST.test(file)),
      // Editors save by writing a temp file and renaming it; wait for the write to settle.
      awaitWriteFinish: { stabilityThreshold: 20, pollInterval: 10 },
    });
    const onEvent = (file: string): void => {
      if (!MANIFEST.test(file)) return;
      this.#dirty.add(file);
      this.#schedule();
    };
    this.#watcher.on('add', onEvent).on('change', onEvent).on('unlink', onEvent);
    this.#watcher.on('unlinkDir', (dir) => {
      for (const file of this.#files.keys()) if (file.startsWith(dir + path.sep)) this.#dirty.add(file);
      this.#schedule();
    });
    this.#watcher.on('error', (error) => {
      this.#files.set('(watcher)', {
        objects: [],
        problem: { location: this.#directory, message: String(error) },
      });
      this.#schedule();
    });
    await new Promise<void>((resolve) => this.#watcher?.once('ready', () => resolve()));
    for (const file of await listManifests(this.#directory)) this.#dirty.add(file);
    await this.#flush();
  }

  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    await this.#watcher?.close();
    await this.#reading;
  }

  current(): SourceState {
    return this.#state;
  }

  #schedule(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#flush(), this.#debounceMs);
  }

  /** Re-reads the changed files, one flush at a time, then emits the whole set. */
  #flush(): Promise<void> {
    this.#reading = this.#reading.then(async () => {
      const changed = [...this.#dirty].sort();
      this.#dirty.clear();
      if (changed.length === 0) return;
      for (const file of changed) await this.#readFile(file);
      this.#state = this.#collect();
      this.emit('change', this.#state);
    });
    return this.#reading;
  }

  async #readFile(file: string): Promise<void> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') this.#files.delete(file);
      else this.#keepWithProblem(file, `cannot read: ${(error as Error).message}`);
      return;
    }
    const documents = parseAllDocuments(text);
    const objects: unknown[] = [];
    for (const [index, document] of documents.entries()) {
      if (document.errors.length > 0) {
        const first = document.errors[0]!;
        this.#keepWithProblem(
          file,
          `document ${index + 1} is not valid YAML: ${first.message.split('\n')[0]}`,
        );
        return;
      }
      const value: unknown = document.toJS();
      if (value === null || value === undefined) continue;
      if (typeof value !== 'object' || Array.isArray(value)) {
        this.#keepWithProblem(file, `document ${index + 1} is not a Kubernetes object (expected a mapping)`);
        return;
      }
      objects.push(...expandList(value as Record<string, unknown>));
    }
    this.#files.set(file, { objects });
  }

  #keepWithProblem(file: string, message: string): void {
    const previous = this.#files.get(file);
    const location = path.relative(this.#directory, file) || file;
    const note = previous ? ' (its last valid content is still in use)' : '';
    this.#files.set(file, {
      objects: previous?.objects ?? [],
      problem: { location, message: message + note },
    });
  }

  #collect(): SourceState {
    const objects: unknown[] = [];
    const problems: SourceProblem[] = [];
    for (const file of [...this.#files.keys()].sort()) {
      const entry = this.#files.get(file)!;
      objects.push(...entry.objects);
      if (entry.problem) problems.push(entry.problem);
    }
    return { objects, problems };
  }
}

/** `kind: List` documents (what `kubectl get -o yaml` writes) hold their objects in `items`. */
function expandList(value: Record<string, unknown>): unknown[] {
  if (value.kind === 'List' && Array.isArray(value.items)) return value.items;
  return [value];
}

async function listManifests(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile() && MANIFEST.test(entry.name))
    .map((entry) => path.join(entry.parentPath, entry.name))
    .sort();
}
