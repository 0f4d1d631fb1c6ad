// One collection kept in memory and current: client-node's ListWatch (list, then watch from the
// list's resourceVersion, relist when the API server answers 410 Gone) wrapped with what it
// lacks. A ListWatch stops for good on any other error; this restarts it with jittered backoff
// (resuming the watch from the last resourceVersion, or relisting if that is too old). It has no
// "has synced"; this resolves `whenSynced()` once the first list is in the cache. While it
// fails, the cache keeps the last known objects: a flapping API server never empties routes.
import { type KubeConfig, type KubernetesObject, ListWatch } from '@kubernetes/client-node';
import type { Logger } from '@tollgate/telemetry';
import { Backoff, type BackoffOptions } from './backoff.ts';
import { listCollection } from './list.ts';
import { collectionPath, type WatchedResource } from './resources.ts';
import { BoundedWatch } from './watch.ts';

export interface ResilientInformerOptions {
  kubeConfig: KubeConfig;
  resource: WatchedResource;
  /** Watch one namespace; undefined watches all. */
  namespace?: string;
  /** e.g. `metadata.name=api-keys`, to watch one object. */
  fieldSelector?: string;
  logger: Logger;
  backoff?: BackoffOptions;
  /** After any change of the cached objects, and after the first list. Coalesce in the caller. */
  onChange(): void;
  /** When the informer starts failing (a message) or recovers (undefined). */
  onHealth?(problem: string | undefined): void;
}

/** A restart that then ran this long without an error counts as recovered: backoff starts over. */
const HEALTHY_AFTER_MS = 10_000;

export class ResilientInformer {
  /** What is watched, for logs and problems: `routes (namespace shop)`. */
  readonly description: string;
  readonly resource: WatchedResource;
  readonly #options: ResilientInformerOptions;
  readonly #watch: BoundedWatch;
  readonly #listWatch: ListWatch<KubernetesObject>;
  readonly #backoff: Backoff;
  readonly #synced: Promise<void>;
  #markSynced!: () => void;
  #isSynced = false;
  #started = false;
  #stopped = false;
  #restartTimer: NodeJS.Timeout | undefined;
  #problem: string | undefined;
  #failures = 0;
  #runningSince = 0;
  /** What each cached object looked like, minus status and bookkeeping, by namespace/name. */
  readonly #fingerprints = new Map<string, string>();

  constructor(options: ResilientInformerOptions) {
    this.#options = options;
    this.resource = options.resource;
    const { resource, namespace, fieldSelector, kubeConfig } = options;
    const scope = namespace === undefined ? 'all namespaces' : `namespace ${namespace}`;
    this.description = `${resource.plural} (${scope}${fieldSelector ? `, ${fieldSelector}` : ''})`;
    this.#backoff = new Backoff(options.backoff);
    this.#synced = new Promise((resolve) => {
      this.#markSynced = resolve;
    });
    const path = collectionPath(resource, namespace);
    this.#watch = new BoundedWatch(kubeConfig);
    this.#listWatch = new ListWatch(
      path,
      this.#watch,
      () => this.#list(path),
      false,
      undefined,
      fieldSelector,
    );
    const changed = (object: KubernetesObject): void => {
      slim(object);
      const key = objectKey(object);
      const print = fingerprint(object);
      // A status write (ours, or anyone's) changes nothing the translator reads.
      if (this.#fingerprints.get(key) === print) return;
      this.#fingerprints.set(key, print);
      if (this.#isSynced) options.onChange();
    };
    this.#listWatch.on('add', changed);
    this.#listWatch.on('update', changed);
    this.#listWatch.on('delete', (object: KubernetesObject) => {
      this.#fingerprints.delete(objectKey(object));
      if (this.#isSynced) options.onChange();
    });
    this.#listWatch.on('error', (error: unknown) => this.#onError(error));
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#run();
  }

  /** Resolves once the first complete list is in the cache (or never, if stopped before that). */
  whenSynced(): Promise<void> {
    return this.#synced;
  }

  get synced(): boolean {
    return this.#isSynced;
  }

  /** Why the informer is not watching right now, or undefined when it is. */
  get problem(): string | undefined {
    return this.#problem;
  }

  /** The cached objects, as plain JSON. */
  list(): readonly KubernetesObject[] {
    return this.#listWatch.list();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#restartTimer);
    this.#watch.stop();
    void this.#listWatch.stop();
  }

  #run(): void {
    if (this.#stopped) return;
    this.#restartTimer = undefined;
    const failuresBefore = this.#failures;
    this.#runningSince = performance.now();
    void this.#listWatch.start().then(() => {
      // start() resolves once the watch is connected, or after reporting a failure to #onError.
      if (this.#stopped || this.#failures !== failuresBefore) return;
      this.#recovered();
    });
  }

  #recovered(): void {
    if (this.#problem === undefined) return;
    this.#options.logger.info({ resource: this.description }, 'watch recovered');
    this.#setProblem(undefined);
  }

  async #list(path: string) {
    const { kubeConfig, resource, fieldSelector } = this.#options;
    const list = await listCollection(kubeConfig, path, resource, { fieldSelector });
    // Stopped while listing: fail, or ListWatch would open a watch nobody closes.
    if (this.#stopped) throw new Error('informer stopped');
    for (const item of list.items) slim(item);
    this.#recovered();
    if (!this.#isSynced) {
      // ListWatch stores the items right after this promise resolves, in the same run of
      // microtasks; by the next macrotask they are in the cache.
      setImmediate(() => {
        if (this.#stopped || this.#isSynced) return;
        this.#isSynced = true;
        this.#markSynced();
        this.#options.onChange();
      });
    }
    return list;
  }

  #onError(error: unknown): void {
    // Stopping aborts the watch, which ListWatch reports as an error.
    if (this.#stopped || this.#restartTimer) return;
    this.#failures++;
    if (performance.now() - this.#runningSince > HEALTHY_AFTER_MS) this.#backoff.reset();
    const delayMs = this.#backoff.next();
    const message = describeError(error);
    this.#options.logger.warn(
      { resource: this.description, error: message, retryInMs: delayMs },
      'watch failed; restarting',
    );
    this.#setProblem(`${message}; retrying`);
    this.#restartTimer = setTimeout(() => this.#run(), delayMs);
  }

  #setProblem(problem: string | undefined): void {
    if (problem === this.#problem) return;
    this.#problem = problem;
    this.#options.onHealth?.(problem);
  }
}

/** managedFields are bookkeeping, often larger than the object itself; nothing downstream reads them. */
function slim(object: KubernetesObject): void {
  if (object.metadata?.managedFields) delete object.metadata.managedFields;
}

const objectKey = (object: KubernetesObject): string =>
  `${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;

function fingerprint(object: KubernetesObject): string {
  const { status: _status, ...rest } = object as KubernetesObject & { status?: unknown };
  const { resourceVersion: _version, managedFields: _fields, ...metadata } = object.metadata ?? {};
  return JSON.stringify({ ...rest, metadata });
}

function describeError(error: unknown): string {
  if (error instanceof Error) {
    const status = (error as { statusCode?: unknown }).statusCode;
    const code = (error as { code?: unknown }).code;
    if (typeof status === 'number' && !error.message.includes(String(status)))
      return `${status} ${error.message}`;
    if (typeof code === 'string' && !code.startsWith('TG_ERR') && !error.message.includes(code))
      return `${error.message} (${code})`;
    return error.message;
  }
  return String(error);
}
