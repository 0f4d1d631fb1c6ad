// Cross-replica rollout view. Every replica serves snapshots, but only to the data planes connected
// to it, and only the leader writes status; so each replica publishes its data planes' state to the
// API server and the leader merges every fresh report with its own when computing Programmed.
//
// A report is a coordination.k8s.io/v1 Lease (`<lease-name>-replica-<slot>`): holderIdentity = the
// replica, renewTime = its last write, leaseDurationSeconds = how long the report stays valid
// (3 × the renew period), and the data planes as JSON in an annotation. Leases because they are the
// API's object for "who is alive", cost nothing to watch, and need no new permission kinds.
//
// Slots, not Pod names: RBAC cannot grant a verb on names it does not know in advance, and Pod names
// are random. A fixed set of slot names (the chart grants exactly those) keeps the controller unable
// to update or delete any other Lease. A replica claims a slot the way a candidate takes the leader
// Lease: create it, or take one held by nobody or whose record has not changed for its duration, as
// judged by the local clock (never by comparing remote timestamps with ours); every update is
// conditional on the resourceVersion read. On shutdown the replica deletes its report.
//
// The reader (leader only) polls the slots every renew period; a report whose record has not
// changed for its leaseDurationSeconds (by the reader's clock) is expired and no longer counts.
import { type CoordinationV1Api, type V1Lease, V1MicroTime } from '@kubernetes/client-node';
import type { Logger } from '@tollgate/telemetry';
import { z } from 'zod';
import type { ReportedDataplane } from '../status/rollout.ts';
import { describeApiError, httpStatusOf, withTimeout } from './client.ts';

export const REPLICA_REPORT_ANNOTATION = 'tollgate.dev/dataplanes';
export const REPLICA_REPORT_LABEL = 'tollgate.dev/replica-report-of';
export const DEFAULT_REPLICA_REPORT_PERIOD_MS = 5_000;
export const DEFAULT_REPLICA_REPORT_SLOTS = 8;
/** A report expires after this many renew periods without a change. */
const EXPIRY_PERIODS = 3;
/** Changes are written at most this often. */
const COALESCE_MS = 1_000;

const reportSchema = z.object({
  dataplanes: z.array(
    z.object({
      node: z.string(),
      zone: z.string(),
      ackedVersion: z.string().optional(),
      lastNack: z.object({ version: z.string(), message: z.string() }).optional(),
      connectedSince: z.string(),
    }),
  ),
});

/** The report Lease names a controller with `leaseName` and `slots` slots may use. */
export function replicaReportNames(leaseName: string, slots: number): string[] {
  return Array.from({ length: slots }, (_, i) => `${leaseName}-replica-${i}`);
}

interface ReportOptions {
  coordination: CoordinationV1Api;
  namespace: string;
  /** The leader-election Lease name; report names derive from it. */
  leaseName: string;
  identity: string;
  logger: Logger;
  slots?: number;
  periodMs?: number;
}

/** Remembers, per report name, when its record was first seen unchanged (local clock). */
class Observations {
  readonly #seen = new Map<string, { record: string; at: number }>();

  /** True when the record has not changed for `durationMs`. */
  expired(name: string, lease: V1Lease, durationMs: number): boolean {
    const spec = lease.spec ?? {};
    const record = JSON.stringify([
      spec.holderIdentity ?? '',
      spec.renewTime ? new Date(spec.renewTime).toISOString() : '',
      lease.metadata?.resourceVersion,
    ]);
    const now = performance.now();
    const known = this.#seen.get(name);
    if (!known || known.record !== record) {
      this.#seen.set(name, { record, at: now });
      return false;
    }
    return now - known.at >= durationMs;
  }

  forget(name: string): void {
    this.#seen.delete(name);
  }
}

function durationOf(lease: V1Lease, fallbackMs: number): number {
  const seconds = lease.spec?.leaseDurationSeconds;
  return seconds ? seconds * 1000 : fallbackMs;
}

/** Publishes this replica's data planes in a report Lease; runs on every replica. */
export class ReplicaReporter {
  readonly #options: ReportOptions;
  readonly #names: string[];
  readonly #periodMs: number;
  readonly #read: () => ReportedDataplane[];
  readonly #observations = new Observations();
  readonly #stop = new AbortController();
  #slot: { name: string; resourceVersion: string } | undefined;
  #written: string | undefined;
  #lastWriteAt = Number.NEGATIVE_INFINITY;
  #timer: NodeJS.Timeout | undefined;
  #renewTimer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #warnedNoSlot = false;

  constructor(options: ReportOptions & { dataplanes: () => ReportedDataplane[] }) {
    this.#options = options;
    this.#names = replicaReportNames(options.leaseName, options.slots ?? DEFAULT_REPLICA_REPORT_SLOTS);
    this.#periodMs = options.periodMs ?? DEFAULT_REPLICA_REPORT_PERIOD_MS;
    this.#read = options.dataplanes;
  }

  /** The report Lease this replica writes (undefined until it has claimed one). */
  get slot(): string | undefined {
    return this.#slot?.name;
  }

  start(): void {
    this.#renewTimer = setInterval(() => this.#kick(true), this.#periodMs);
    this.#kick(true);
  }

  /** The local data planes changed: write soon (at most once per second). */
  changed(): void {
    if (this.#stop.signal.aborted || this.#timer) return;
    const wait = Math.max(0, this.#lastWriteAt + COALESCE_MS - performance.now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#kick(false);
    }, wait);
  }

  /** Stops writing and deletes this replica's report. */
  async stop(): Promise<void> {
    this.#stop.abort();
    clearTimeout(this.#timer);
    clearInterval(this.#renewTimer);
    await this.#running;
    const slot = this.#slot;
    if (!slot) return;
    this.#slot = undefined;
    const { coordination, namespace, logger } = this.#options;
    try {
      await coordination.deleteNamespacedLease(
        { name: slot.name, namespace, body: { preconditions: { resourceVersion: slot.resourceVersion } } },
        withTimeout(5_000),
      );
    } catch (error) {
      // It then expires like a crashed replica's.
      logger.warn(
        { code: 'TG_ERR_REPLICA_REPORT', report: slot.name, error: describeApiError(error) },
        'could not delete the replica report',
      );
    }
  }

  /** renew: write even when the report did not change (keeps it from expiring). */
  #kick(renew: boolean): void {
    if (this.#stop.signal.aborted) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.#write(renew)
      .catch((error: unknown) =>
        this.#options.logger.warn(
          { code: 'TG_ERR_REPLICA_REPORT', error: describeApiError(error) },
          'could not write the replica report',
        ),
      )
      .finally(() => {
        this.#running = undefined;
        if (this.#again) {
          this.#again = false;
          this.changed();
        }
      });
  }

  #lease(name: string, resourceVersion: string | undefined, body: string): V1Lease {
    const now = new V1MicroTime(Date.now());
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name,
        namespace: this.#options.namespace,
        ...(resourceVersion ? { resourceVersion } : {}),
        labels: { [REPLICA_REPORT_LABEL]: this.#options.leaseName },
        annotations: { [REPLICA_REPORT_ANNOTATION]: body },
      },
      spec: {
        holderIdentity: this.#options.identity,
        leaseDurationSeconds: Math.max(1, Math.ceil((EXPIRY_PERIODS * this.#periodMs) / 1000)),
        renewTime: now,
      },
    };
  }

  async #write(renew: boolean): Promise<void> {
    const body = JSON.stringify({
      dataplanes: this.#read().map(({ replica: _replica, ...rest }) => rest),
    });
    if (!renew && this.#slot && body === this.#written) return;
    const { coordination, namespace } = this.#options;
    // Not cancelled by stop(): a write cut off mid-flight would leave the resourceVersion unknown,
    // and the delete on shutdown would then fail its precondition.
    const options = withTimeout(Math.max(1_000, this.#periodMs));
    this.#lastWriteAt = performance.now();
    if (this.#slot) {
      try {
        const updated = await coordination.replaceNamespacedLease(
          {
            name: this.#slot.name,
            namespace,
            body: this.#lease(this.#slot.name, this.#slot.resourceVersion, body),
          },
          options,
        );
        this.#slot.resourceVersion = updated.metadata?.resourceVersion ?? '';
        this.#written = body;
        return;
      } catch (error) {
        const status = httpStatusOf(error);
        // 409/404: somebody took it (we were silent too long) or deleted it; claim again below.
        if (status !== 409 && status !== 404) throw error;
        this.#options.logger.warn(
          { code: 'TG_ERR_REPLICA_REPORT', report: this.#slot.name, error: describeApiError(error) },
          'lost the replica report slot; claiming another',
        );
        this.#slot = undefined;
      }
    }
    await this.#claim(body, options);
  }

  async #claim(body: string, options: ReturnType<typeof withTimeout>): Promise<void> {
    const { coordination, namespace, identity, logger } = this.#options;
    for (const name of this.#names) {
      let lease: V1Lease;
      try {
        lease = await coordination.readNamespacedLease({ name, namespace }, options);
      } catch (error) {
        if (httpStatusOf(error) !== 404) throw error;
        try {
          const created = await coordination.createNamespacedLease(
            { namespace, body: this.#lease(name, undefined, body) },
            options,
          );
          this.#took(name, created, body);
          return;
        } catch (createError) {
          if (httpStatusOf(createError) === 409) continue; // another replica was faster
          throw createError;
        }
      }
      const holder = lease.spec?.holderIdentity ?? '';
      const free =
        holder === '' ||
        holder === identity ||
        this.#observations.expired(name, lease, durationOf(lease, EXPIRY_PERIODS * this.#periodMs));
      if (!free) continue;
      try {
        const taken = await coordination.replaceNamespacedLease(
          { name, namespace, body: this.#lease(name, lease.metadata?.resourceVersion, body) },
          options,
        );
        this.#took(name, taken, body);
        return;
      } catch (error) {
        if (httpStatusOf(error) === 409) continue;
        throw error;
      }
    }
    if (!this.#warnedNoSlot) {
      this.#warnedNoSlot = true;
      logger.warn(
        { code: 'TG_ERR_REPLICA_REPORT_NO_SLOT', slots: this.#names.length },
        'every replica report slot is taken: the leader does not see the data planes connected here (raise --replica-report-slots)',
      );
    }
  }

  #took(name: string, lease: V1Lease, body: string): void {
    this.#written = body;
    this.#slot = { name, resourceVersion: lease.metadata?.resourceVersion ?? '' };
    this.#warnedNoSlot = false;
    this.#observations.forget(name);
    this.#options.logger.info({ report: name }, 'publishing this replica’s data planes');
  }
}

export interface ReplicaReports {
  /** Data planes from every fresh report but this replica's own. */
  dataplanes: ReportedDataplane[];
  fresh: number;
  expired: number;
}

/** Reads the other replicas' reports (the leader does); see the file comment for freshness. */
export class ReplicaReportReader {
  readonly #options: ReportOptions;
  readonly #names: string[];
  readonly #periodMs: number;
  readonly #observations = new Observations();
  readonly #onReports: (reports: ReplicaReports) => void;
  readonly #stop = new AbortController();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(options: ReportOptions & { onReports: (reports: ReplicaReports) => void }) {
    this.#options = options;
    this.#names = replicaReportNames(options.leaseName, options.slots ?? DEFAULT_REPLICA_REPORT_SLOTS);
    this.#periodMs = options.periodMs ?? DEFAULT_REPLICA_REPORT_PERIOD_MS;
    this.#onReports = options.onReports;
  }

  start(): void {
    const tick = (): void => {
      if (this.#stop.signal.aborted || this.#running) return;
      this.#running = this.read()
        .then(this.#onReports)
        .catch((error: Error) =>
          this.#options.logger.warn(
            { code: 'TG_ERR_REPLICA_REPORT', error: describeApiError(error) },
            'could not read replica reports',
          ),
        )
        .finally(() => {
          this.#running = undefined;
        });
    };
    this.#timer = setInterval(tick, this.#periodMs);
    tick();
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    clearInterval(this.#timer);
    await this.#running;
  }

  async read(): Promise<ReplicaReports> {
    const { coordination, namespace, identity, logger } = this.#options;
    const options = withTimeout(Math.max(1_000, this.#periodMs), this.#stop.signal);
    const leases = await Promise.all(
      this.#names.map(async (name) => {
        try {
          return await coordination.readNamespacedLease({ name, namespace }, options);
        } catch (error) {
          if (httpStatusOf(error) === 404) {
            this.#observations.forget(name);
            return undefined;
          }
          throw error;
        }
      }),
    );
    const result: ReplicaReports = { dataplanes: [], fresh: 0, expired: 0 };
    leases.forEach((lease, i) => {
      if (!lease) return;
      const name = this.#names[i]!;
      const holder = lease.spec?.holderIdentity ?? '';
      const expired = this.#observations.expired(
        name,
        lease,
        durationOf(lease, EXPIRY_PERIODS * this.#periodMs),
      );
      if (holder === '' || holder === identity) return;
      if (expired) {
        result.expired += 1;
        return;
      }
      const parsed = reportSchema.safeParse(
        safeJson(lease.metadata?.annotations?.[REPLICA_REPORT_ANNOTATION] ?? ''),
      );
      if (!parsed.success) {
        logger.warn({ code: 'TG_ERR_REPLICA_REPORT', report: name }, 'ignoring an unreadable replica report');
        return;
      }
      result.fresh += 1;
      for (const d of parsed.data.dataplanes) result.dataplanes.push({ ...d, replica: holder });
    });
    return result;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
