// Writes the controller's statuses to the API server (leader only: whoever starts it).
//
// How a write happens (read-modify-write with optimistic concurrency, not a patch):
//   GET the object → merge our conditions into its status (status-merge.ts) → unchanged? stop
//   → PUT .../status with the resourceVersion that was read → 409 Conflict? read again and redo.
// A JSON merge patch would replace the whole conditions list, dropping other tools' conditions,
// and server-side apply cannot merge status.ancestors (an atomic list) — so the writer reads first
// and replaces only with the version it read. The object is read from the main resource (the
// controller's RBAC has get on it, and update on <kind>/status).
//
// Coalescing: update() only records the newest wanted status per object; a short window later
// a small worker pool writes each object that changed. The queue holds each object at most once,
// so it is bounded by the number of objects, and a burst of changes costs one write per object.
// Objects whose wanted status equals what was last written or found are not even read; every
// resyncMs that memory is forgotten, so a status someone else changed is put right again.
// A 404 means the object is gone: nothing to do. Other failures retry with exponential backoff.
import type { CustomObjectsApi } from '@kubernetes/client-node';
import { canonicalJson } from '@tollgate/snapshot';
import type { Logger } from '@tollgate/telemetry';
import { Counter, type Registry } from 'prom-client';
import { describeApiError, httpStatusOf, withTimeout } from './client.ts';
import {
  type DesiredStatus,
  nextStatus,
  type StatusKind,
  StoredObject,
  type StoredStatus,
  sameStatus,
} from './status-merge.ts';

export const FIELD_MANAGER = 'tollgate-controller';
const GROUP = 'tollgate.dev';
const VERSION = 'v1alpha1';
const PLURAL: Record<StatusKind, string> = {
  Route: 'routes',
  AIProvider: 'aiproviders',
  Consumer: 'consumers',
  Policy: 'policies',
};

export type WriteResult = 'written' | 'unchanged' | 'conflict' | 'gone' | 'error';

/** A status write that changed something: the object as read, and its status before and after. */
export interface StatusChange {
  ref: DesiredStatus['ref'] & { apiVersion: string; uid?: string };
  before: StoredStatus | undefined;
  after: StoredStatus;
}

export interface StatusWriterOptions {
  customObjects: CustomObjectsApi;
  logger: Logger;
  /** managedFields manager of our writes. */
  fieldManager?: string;
  /** Parallel writes (default 4). */
  workers?: number;
  /** How long changes gather before they are written (default 100 ms). */
  coalesceMs?: number;
  /** Read-modify-write rounds per object before a conflict counts as a failure (default 5). */
  maxConflicts?: number;
  requestTimeoutMs?: number;
  /** Forget what was written after this long, so the next pass compares with the API server again (default 10 min). */
  resyncMs?: number;
  /** Called after every write that changed a status (Events hook here). */
  onChange?: (change: StatusChange) => void;
  /** Registers tollgate_controller_status_writes_total here. */
  registry?: Registry;
}

interface Work {
  desired: DesiredStatus;
  fingerprint: string;
}

const keyOf = (ref: DesiredStatus['ref']): string => `${ref.kind}/${ref.namespace}/${ref.name}`;
const MAX_BACKOFF_MS = 60_000;

export class StatusWriter {
  readonly #options: StatusWriterOptions;
  readonly #workers: number;
  /** Newest wanted status per object not written yet; insertion order is the queue order. */
  readonly #pending = new Map<string, Work>();
  readonly #inFlight = new Set<string>();
  /** Fingerprint of the status each object is known to have (written or found equal). */
  readonly #settled = new Map<string, string>();
  readonly #failures = new Map<string, { count: number; notBefore: number }>();
  readonly #counts: Record<WriteResult, number> = {
    written: 0,
    unchanged: 0,
    conflict: 0,
    gone: 0,
    error: 0,
  };
  readonly #metric: Counter<'result'> | undefined;
  #idleWaiters: Array<() => void> = [];
  #timer: NodeJS.Timeout | undefined;
  #resyncTimer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(options: StatusWriterOptions) {
    this.#options = options;
    this.#workers = Math.max(1, options.workers ?? 4);
    if (options.registry) {
      this.#metric =
        (options.registry.getSingleMetric('tollgate_controller_status_writes_total') as Counter<'result'>) ??
        new Counter({
          name: 'tollgate_controller_status_writes_total',
          help: 'Status write attempts by outcome (written, unchanged, conflict, gone, error).',
          labelNames: ['result'],
          registers: [options.registry],
        });
    }
    this.#resyncTimer = setInterval(() => this.#settled.clear(), options.resyncMs ?? 600_000);
    this.#resyncTimer.unref();
  }

  /** Outcomes so far, for tests and logs. */
  get counts(): Readonly<Record<WriteResult, number>> {
    return { ...this.#counts };
  }

  /** The complete set of wanted statuses (every object the controller knows); writes what changed. */
  update(statuses: readonly DesiredStatus[]): void {
    if (this.#stopped) return;
    const present = new Set<string>();
    for (const desired of statuses) {
      const key = keyOf(desired.ref);
      present.add(key);
      const fingerprint = canonicalJson([desired.generation, desired.conditions, desired.ancestors]);
      if (this.#settled.get(key) === fingerprint && !this.#inFlight.has(key)) {
        this.#pending.delete(key);
        continue;
      }
      if (this.#pending.get(key)?.fingerprint === fingerprint) continue;
      this.#pending.delete(key); // re-insert at the end: newest changes queue behind older ones
      this.#pending.set(key, { desired, fingerprint });
    }
    // Objects that are gone: nothing to write, nothing to remember.
    for (const key of this.#pending.keys()) if (!present.has(key)) this.#pending.delete(key);
    for (const key of this.#settled.keys()) if (!present.has(key)) this.#settled.delete(key);
    for (const key of this.#failures.keys()) if (!present.has(key)) this.#failures.delete(key);
    this.#schedule(this.#options.coalesceMs ?? 100);
  }

  /** Forget what is known about the API server's copies: the next update() reads every object again. */
  resync(): void {
    this.#settled.clear();
  }

  /** Resolves once nothing is queued or being written (objects in backoff count as queued). */
  idle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearInterval(this.#resyncTimer);
    this.#pending.clear();
    await this.idle();
  }

  #isIdle(): boolean {
    return this.#pending.size === 0 && this.#inFlight.size === 0;
  }

  #schedule(delayMs: number): void {
    if (this.#stopped || this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#pump();
    }, delayMs);
  }

  #pump(): void {
    const now = performance.now();
    let nextRetry = Number.POSITIVE_INFINITY;
    for (const [key, work] of this.#pending) {
      if (this.#inFlight.size >= this.#workers) break;
      if (this.#inFlight.has(key)) continue;
      const failure = this.#failures.get(key);
      if (failure && failure.notBefore > now) {
        nextRetry = Math.min(nextRetry, failure.notBefore);
        continue;
      }
      this.#pending.delete(key);
      this.#inFlight.add(key);
      void this.#write(key, work).finally(() => {
        this.#inFlight.delete(key);
        this.#pump();
      });
    }
    if (nextRetry !== Number.POSITIVE_INFINITY) this.#schedule(Math.max(1, nextRetry - now));
    if (this.#isIdle()) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  async #write(key: string, work: Work): Promise<void> {
    const { logger } = this.#options;
    try {
      const result = await this.#readModifyWrite(work.desired);
      this.#count(result);
      this.#failures.delete(key);
      if (result === 'gone') this.#settled.delete(key);
      else this.#settled.set(key, work.fingerprint);
    } catch (error) {
      this.#count('error');
      const failure = this.#failures.get(key) ?? { count: 0, notBefore: 0 };
      failure.count += 1;
      const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** (failure.count - 1));
      failure.notBefore = performance.now() + delay;
      this.#failures.set(key, failure);
      // Retry with what is wanted by then (a newer update() may already have replaced it).
      if (!this.#pending.has(key) && !this.#stopped) this.#pending.set(key, work);
      logger.warn(
        {
          code: 'TG_ERR_STATUS_WRITE',
          object: key,
          attempt: failure.count,
          retryInMs: delay,
          error: describeApiError(error),
        },
        'status write failed',
      );
    }
  }

  /** One object: read, merge, compare, replace; again on conflict. */
  async #readModifyWrite(desired: DesiredStatus): Promise<WriteResult> {
    const { customObjects, logger } = this.#options;
    const timeout = this.#options.requestTimeoutMs ?? 10_000;
    const target = {
      group: GROUP,
      version: VERSION,
      namespace: desired.ref.namespace,
      plural: PLURAL[desired.ref.kind],
      name: desired.ref.name,
    };
    const maxConflicts = this.#options.maxConflicts ?? 5;
    for (let round = 1; ; round++) {
      let stored: StoredObject;
      try {
        stored = StoredObject.parse(
          await customObjects.getNamespacedCustomObject(target, withTimeout(timeout)),
        );
      } catch (error) {
        if (httpStatusOf(error) === 404) return 'gone';
        throw error;
      }
      const after = nextStatus(stored.status, desired, new Date().toISOString().replace(/\.\d+Z$/, 'Z'));
      if (sameStatus(stored.status, after)) return 'unchanged';
      try {
        await customObjects.replaceNamespacedCustomObjectStatus(
          {
            ...target,
            fieldManager: this.#options.fieldManager ?? FIELD_MANAGER,
            body: {
              apiVersion: stored.apiVersion,
              kind: stored.kind,
              // Only status is taken from a /status write; the resourceVersion makes it conditional.
              metadata: {
                name: stored.metadata.name,
                namespace: stored.metadata.namespace,
                resourceVersion: stored.metadata.resourceVersion,
              },
              status: after,
            },
          },
          withTimeout(timeout),
        );
      } catch (error) {
        const status = httpStatusOf(error);
        if (status === 404) return 'gone';
        if (status === 409 && round < maxConflicts) {
          this.#count('conflict');
          continue;
        }
        throw error;
      }
      logger.debug({ object: keyOf(desired.ref), generation: desired.generation }, 'status written');
      this.#options.onChange?.({
        ref: { ...desired.ref, apiVersion: stored.apiVersion, uid: stored.metadata.uid },
        before: stored.status,
        after,
      });
      return 'written';
    }
  }

  #count(result: WriteResult): void {
    this.#counts[result] += 1;
    this.#metric?.inc({ result });
  }
}
