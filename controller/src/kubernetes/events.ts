// Kubernetes Events (events.k8s.io/v1, the API client-go's current recorder uses; `kubectl describe`
// and `kubectl get events` show them like core/v1 ones) for what an operator should notice:
//
// - an object translation rejects or cannot resolve (Accepted/ResolvedRefs turning False): a
//   Warning on that object, reason = the condition's reason, note = its message. Emitted from the
//   status writer's changes, so a resync or a new leader that finds the same status emits nothing.
// - a data plane that NACKs a snapshot: a Warning on the controller-level object (the leader-
//   election Lease by default), naming the data plane, the snapshot version and its reason. Only
//   new NACKs count (edge-triggered on the node/version/message set).
//
// Deduplication, like client-go's EventSeries: the same event (object, type, reason, action, note)
// again within seriesWindowMs does not create another Event; the first one's series
// {count, lastObservedTime} is updated instead, at most once per seriesFlushMs.
import { randomBytes } from 'node:crypto';
import { type EventsV1Api, V1MicroTime } from '@kubernetes/client-node';
import { canonicalJson } from '@tollgate/snapshot';
import type { Logger } from '@tollgate/telemetry';
import { Counter, type Registry } from 'prom-client';
import { describeApiError, httpStatusOf, withTimeout } from './client.ts';
import { CONTROLLER_NAME, newFailures } from './status-merge.ts';
import type { StatusChange } from './status-writer.ts';

export interface EventReference {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  uid?: string;
}

export interface EventSpec {
  regarding: EventReference;
  type: 'Normal' | 'Warning';
  /** CamelCase, at most 128 characters. */
  reason: string;
  /** What the controller was doing, CamelCase, at most 128 characters. */
  action: string;
  /** Human-readable; cut to the API's 1 kB. */
  note: string;
}

export interface EventRecorderOptions {
  events: EventsV1Api;
  logger: Logger;
  /** reportingInstance: this replica's identity. */
  instance: string;
  reportingController?: string;
  seriesWindowMs?: number;
  seriesFlushMs?: number;
  /** How many distinct events are remembered for deduplication (oldest forgotten first). */
  maxRemembered?: number;
  requestTimeoutMs?: number;
  registry?: Registry;
}

interface Remembered {
  name: string;
  namespace: string;
  count: number;
  lastAt: number;
  lastObserved: Date;
  /** The Event exists on the API server (creation finished). */
  created: boolean;
  /** Occurrences since the last series write. */
  dirty: boolean;
}

const MAX_NOTE_BYTES = 1024;

function cutNote(note: string): string {
  if (Buffer.byteLength(note) <= MAX_NOTE_BYTES) return note;
  let cut = note.slice(0, MAX_NOTE_BYTES - 3);
  while (Buffer.byteLength(`${cut}…`) > MAX_NOTE_BYTES) cut = cut.slice(0, -1);
  return `${cut}…`;
}

export class EventRecorder {
  readonly #options: EventRecorderOptions;
  readonly #remembered = new Map<string, Remembered>();
  readonly #inFlight = new Set<Promise<void>>();
  readonly #metric: Counter<'result'> | undefined;
  #flushTimer: NodeJS.Timeout | undefined;
  #stopped = false;
  readonly counts = { created: 0, seriesUpdated: 0, failed: 0 };

  constructor(options: EventRecorderOptions) {
    this.#options = options;
    if (options.registry) {
      this.#metric =
        (options.registry.getSingleMetric('tollgate_controller_events_total') as Counter<'result'>) ??
        new Counter({
          name: 'tollgate_controller_events_total',
          help: 'Kubernetes Event writes by outcome (created, series, failed).',
          labelNames: ['result'],
          registers: [options.registry],
        });
    }
  }

  /** Records an event; never throws (failures are logged). */
  record(spec: EventSpec): void {
    if (this.#stopped) return;
    const note = cutNote(spec.note);
    const { regarding } = spec;
    const key = canonicalJson([regarding, spec.type, spec.reason, spec.action, note]);
    const now = performance.now();
    const known = this.#remembered.get(key);
    if (known && now - known.lastAt < (this.#options.seriesWindowMs ?? 10 * 60_000)) {
      known.count += 1;
      known.lastAt = now;
      known.lastObserved = new Date();
      known.dirty = true;
      this.#scheduleFlush();
      return;
    }
    const entry: Remembered = {
      // client-go's naming: the object's name and a unique hex suffix.
      name: `${regarding.name}.${Date.now().toString(16)}${randomBytes(4).toString('hex')}`,
      namespace: regarding.namespace,
      count: 1,
      lastAt: now,
      lastObserved: new Date(),
      created: false,
      dirty: false,
    };
    this.#remember(key, entry);
    this.#track(this.#create(key, entry, { ...spec, note }));
  }

  /** Writes pending series updates now and waits for every write in flight. */
  async flush(): Promise<void> {
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    while (this.#inFlight.size > 0) await Promise.all([...this.#inFlight]);
    for (const entry of this.#remembered.values()) {
      if (entry.dirty && entry.created) this.#track(this.#updateSeries(entry));
    }
    while (this.#inFlight.size > 0) await Promise.all([...this.#inFlight]);
  }

  async stop(): Promise<void> {
    await this.flush();
    this.#stopped = true;
  }

  #remember(key: string, entry: Remembered): void {
    this.#remembered.delete(key);
    this.#remembered.set(key, entry);
    const max = this.#options.maxRemembered ?? 4096;
    while (this.#remembered.size > max) this.#remembered.delete(this.#remembered.keys().next().value!);
  }

  #track(work: Promise<void>): void {
    this.#inFlight.add(work);
    void work.finally(() => this.#inFlight.delete(work));
  }

  #scheduleFlush(): void {
    if (this.#flushTimer || this.#stopped) return;
    this.#flushTimer = setTimeout(() => {
      this.#flushTimer = undefined;
      for (const entry of this.#remembered.values()) {
        if (entry.dirty && entry.created) this.#track(this.#updateSeries(entry));
      }
    }, this.#options.seriesFlushMs ?? 5_000);
    this.#flushTimer.unref();
  }

  async #create(key: string, entry: Remembered, spec: EventSpec): Promise<void> {
    const { events, logger, instance } = this.#options;
    try {
      await events.createNamespacedEvent(
        {
          namespace: entry.namespace,
          body: {
            apiVersion: 'events.k8s.io/v1',
            kind: 'Event',
            metadata: { name: entry.name, namespace: entry.namespace },
            eventTime: new V1MicroTime(entry.lastObserved.getTime()),
            reportingController: this.#options.reportingController ?? CONTROLLER_NAME,
            reportingInstance: instance.slice(0, 128),
            action: spec.action,
            reason: spec.reason,
            type: spec.type,
            note: spec.note,
            regarding: spec.regarding,
          },
        },
        withTimeout(this.#options.requestTimeoutMs ?? 10_000),
      );
      entry.created = true;
      this.#count('created');
      if (entry.dirty) this.#scheduleFlush();
    } catch (error) {
      // Forget it, so the next occurrence tries again.
      if (this.#remembered.get(key) === entry) this.#remembered.delete(key);
      this.#count('failed');
      logger.warn(
        {
          code: 'TG_ERR_EVENT_WRITE',
          regarding: `${spec.regarding.kind}/${spec.regarding.namespace}/${spec.regarding.name}`,
          reason: spec.reason,
          error: describeApiError(error),
        },
        'could not record event',
      );
    }
  }

  async #updateSeries(entry: Remembered): Promise<void> {
    entry.dirty = false;
    try {
      await this.#options.events.patchNamespacedEvent(
        {
          name: entry.name,
          namespace: entry.namespace,
          // JSON Patch (the client's default patch type for Events).
          body: [
            {
              op: 'add',
              path: '/series',
              value: { count: entry.count, lastObservedTime: new V1MicroTime(entry.lastObserved.getTime()) },
            },
          ],
        },
        withTimeout(this.#options.requestTimeoutMs ?? 10_000),
      );
      this.#count('series');
    } catch (error) {
      // 404: the Event expired (the API server keeps them about an hour); the next occurrence makes a new one.
      for (const [key, value] of this.#remembered) if (value === entry) this.#remembered.delete(key);
      if (httpStatusOf(error) === 404) return;
      this.#count('failed');
      this.#options.logger.warn(
        {
          code: 'TG_ERR_EVENT_WRITE',
          event: `${entry.namespace}/${entry.name}`,
          error: describeApiError(error),
        },
        'could not update event series',
      );
    }
  }

  #count(result: 'created' | 'series' | 'failed'): void {
    if (result === 'created') this.counts.created += 1;
    else if (result === 'series') this.counts.seriesUpdated += 1;
    else this.counts.failed += 1;
    this.#metric?.inc({ result });
  }
}

/** The status writer's onChange hook: a Warning for each Accepted/ResolvedRefs that newly turned False. */
export function rejectionEvents(recorder: EventRecorder): (change: StatusChange) => void {
  return ({ ref, before, after }) => {
    for (const failure of newFailures(before, after)) {
      recorder.record({
        regarding: {
          apiVersion: ref.apiVersion,
          kind: ref.kind,
          namespace: ref.namespace,
          name: ref.name,
          uid: ref.uid,
        },
        type: 'Warning',
        reason: failure.reason || failure.type,
        action: failure.type === 'Accepted' ? 'Translate' : 'ResolveReferences',
        note: failure.message,
      });
    }
  };
}

export interface DataplaneView {
  id: string;
  lastNack?: { version: string; message: string };
}

/** Turns the data planes' NACK state into one Warning per new NACK, on a controller-level object. */
export class NackEvents {
  readonly #recorder: EventRecorder;
  readonly #regarding: EventReference;
  #seen = new Set<string>();

  constructor(recorder: EventRecorder, regarding: EventReference) {
    this.#recorder = recorder;
    this.#regarding = regarding;
  }

  observe(dataplanes: readonly DataplaneView[]): void {
    const current = new Set<string>();
    for (const node of dataplanes) {
      if (!node.lastNack) continue;
      const key = canonicalJson([node.id, node.lastNack.version, node.lastNack.message]);
      current.add(key);
      if (this.#seen.has(key)) continue;
      this.#recorder.record({
        regarding: this.#regarding,
        type: 'Warning',
        reason: 'SnapshotRejected',
        action: 'ApplySnapshot',
        note: `Data plane ${node.id} rejected snapshot ${node.lastNack.version}: ${node.lastNack.message}`,
      });
    }
    this.#seen = current;
  }
}
