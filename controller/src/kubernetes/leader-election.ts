// Leader election on a coordination.k8s.io/v1 Lease, with the semantics of client-go's
// leaderelection package, so Tollgate replicas behave like every other controller in the cluster:
//
// - A candidate takes the Lease when it is absent, held by nobody, held by itself, or expired.
// - "Expired" is judged by the LOCAL clock: a candidate remembers when it last saw the Lease record
//   change (holder, renew time, …) and treats it as expired once leaseDurationSeconds (of the
//   record) have passed since then without a change. Remote timestamps are never compared with
//   local time, so clock skew between nodes does not matter.
// - The leader renews every retryPeriod; a renewal round that has not succeeded within
//   renewDeadline ends leadership ('lost'). The process is expected to exit then: a replica that
//   is not sure it leads must stop writing at once, and a fresh start is the simplest safe state.
// - stop() releases the Lease (holder empty, duration 1 s) so another replica takes over at its
//   next retry instead of waiting out the lease.
// - Updates carry the resourceVersion that was read, so two candidates can never both win.

import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { type CoordinationV1Api, type V1Lease, type V1LeaseSpec, V1MicroTime } from '@kubernetes/client-node';
import type { Logger } from '@tollgate/telemetry';
import { describeApiError, httpStatusOf, withTimeout } from './client.ts';

/** client-go's defaults (and the Kubernetes components'). */
export const DEFAULT_LEASE_DURATION_MS = 15_000;
export const DEFAULT_RENEW_DEADLINE_MS = 10_000;
export const DEFAULT_RETRY_PERIOD_MS = 2_000;
/** client-go waits retryPeriod × (1 + random × 1.2) between acquisition attempts. */
const JITTER_FACTOR = 1.2;

export interface LeaderElectionOptions {
  coordination: CoordinationV1Api;
  namespace: string;
  /** Name of the Lease. */
  name: string;
  /** Who this replica is; see defaultIdentity(). */
  identity: string;
  logger: Logger;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** Release the Lease on stop() (default true). */
  releaseOnStop?: boolean;
}

export interface LeaderElectionEvents {
  /** This replica became the leader. */
  leading: [];
  /** This replica was the leader and no longer is (renew deadline passed). Not emitted by stop(). */
  lost: [reason: string];
  /** The observed holder changed ('' = nobody). */
  leader: [identity: string];
}

/** POD_NAME when running in a Pod (unique and readable), else hostname plus a random suffix. */
export function defaultIdentity(env: NodeJS.ProcessEnv = process.env): string {
  return env.POD_NAME || `${hostname()}_${randomBytes(4).toString('hex')}`;
}

interface LeaseRecord {
  holder: string;
  leaseDurationSeconds: number;
  acquireTime: string;
  renewTime: string;
  transitions: number;
}

export class LeaderElector extends EventEmitter<LeaderElectionEvents> {
  readonly identity: string;
  readonly #options: LeaderElectionOptions;
  readonly #leaseDurationMs: number;
  readonly #renewDeadlineMs: number;
  readonly #retryPeriodMs: number;
  readonly #stop = new AbortController();
  #running: Promise<void> | undefined;
  #leading = false;
  #observedHolder = '';
  /** JSON of the last Lease record seen, and when (performance.now()) it was first seen. */
  #observedRecord: string | undefined;
  #observedAt = 0;

  constructor(options: LeaderElectionOptions) {
    super();
    this.#options = options;
    this.identity = options.identity;
    this.#leaseDurationMs = options.leaseDurationMs ?? DEFAULT_LEASE_DURATION_MS;
    this.#renewDeadlineMs = options.renewDeadlineMs ?? DEFAULT_RENEW_DEADLINE_MS;
    this.#retryPeriodMs = options.retryPeriodMs ?? DEFAULT_RETRY_PERIOD_MS;
    // The same checks client-go makes: otherwise a leader could lose the lease while still renewing.
    if (!(this.#leaseDurationMs > this.#renewDeadlineMs))
      throw new Error(
        'TG_ERR_LEADER_ELECTION_CONFIG: lease duration must be greater than the renew deadline',
      );
    if (!(this.#renewDeadlineMs > JITTER_FACTOR * this.#retryPeriodMs))
      throw new Error(
        `TG_ERR_LEADER_ELECTION_CONFIG: renew deadline must be greater than ${JITTER_FACTOR} × retry period`,
      );
    if (!options.identity) throw new Error('TG_ERR_LEADER_ELECTION_CONFIG: identity must not be empty');
  }

  get isLeader(): boolean {
    return this.#leading;
  }

  /** The holder of the Lease as last observed ('' = nobody or not yet known). */
  get leader(): string {
    return this.#observedHolder;
  }

  /** Starts campaigning; 'leading' is emitted once the Lease is ours. */
  start(): void {
    if (this.#running) return;
    this.#running = this.#run().catch((error: Error) => {
      // #run handles API errors itself; anything here is a bug, and leadership cannot be trusted.
      this.#options.logger.error({ code: 'TG_ERR_LEADER_ELECTION', err: error }, 'leader election failed');
      if (this.#leading) {
        this.#leading = false;
        this.emit('lost', error.message);
      }
    });
  }

  /** Stops campaigning or renewing; releases the Lease when this replica holds it. */
  async stop(): Promise<void> {
    const wasLeading = this.#leading;
    this.#stop.abort();
    await this.#running;
    this.#leading = false;
    if (wasLeading && (this.#options.releaseOnStop ?? true)) await this.#release();
  }

  async #run(): Promise<void> {
    const { logger } = this.#options;
    const signal = this.#stop.signal;
    logger.info({ identity: this.identity, lease: this.#leaseName() }, 'campaigning for leadership');
    while (!signal.aborted) {
      if (await this.#tryAcquireOrRenew(this.#renewDeadlineMs)) break;
      await this.#sleep(this.#retryPeriodMs * (1 + Math.random() * JITTER_FACTOR));
    }
    if (signal.aborted) return;
    this.#leading = true;
    logger.info({ identity: this.identity, lease: this.#leaseName() }, 'leadership acquired');
    this.emit('leading');

    while (!signal.aborted) {
      await this.#sleep(this.#retryPeriodMs);
      if (signal.aborted) return;
      if (!(await this.#renew())) {
        if (signal.aborted) return;
        this.#leading = false;
        const reason = `could not renew the lease within ${this.#renewDeadlineMs} ms`;
        logger.error(
          { code: 'TG_ERR_LEADERSHIP_LOST', identity: this.identity, lease: this.#leaseName() },
          `leadership lost: ${reason}`,
        );
        this.emit('lost', reason);
        return;
      }
    }
  }

  /** One renewal round: retry every retryPeriod until it succeeds or the renew deadline passes. */
  async #renew(): Promise<boolean> {
    const deadline = performance.now() + this.#renewDeadlineMs;
    for (;;) {
      const remaining = deadline - performance.now();
      if (remaining <= 0 || this.#stop.signal.aborted) return false;
      if (await this.#tryAcquireOrRenew(remaining)) return true;
      const left = deadline - performance.now();
      if (left <= 0) return false;
      await this.#sleep(Math.min(this.#retryPeriodMs, left));
    }
  }

  async #tryAcquireOrRenew(timeoutMs: number): Promise<boolean> {
    const { coordination, namespace, name } = this.#options;
    const options = withTimeout(timeoutMs, this.#stop.signal);
    const now = new Date();
    let lease: V1Lease;
    try {
      lease = await coordination.readNamespacedLease({ name, namespace }, options);
    } catch (error) {
      if (httpStatusOf(error) !== 404) {
        this.#logAttemptFailure('read', error);
        return false;
      }
      try {
        const created = await coordination.createNamespacedLease(
          {
            namespace,
            body: {
              apiVersion: 'coordination.k8s.io/v1',
              kind: 'Lease',
              metadata: { name, namespace },
              spec: this.#spec({ acquireTime: now, renewTime: now, transitions: 0 }),
            },
          },
          options,
        );
        this.#observe(created);
        return true;
      } catch (createError) {
        // 409: another candidate created it first; the next attempt reads theirs.
        this.#logAttemptFailure('create', createError);
        return false;
      }
    }

    const record = recordOf(lease);
    this.#observe(lease, record);
    const expired = performance.now() >= this.#observedAt + record.leaseDurationSeconds * 1000;
    if (record.holder !== '' && record.holder !== this.identity && !expired) return false;

    const ours = record.holder === this.identity;
    try {
      const updated = await this.#replace(
        lease,
        this.#spec({
          acquireTime: ours && record.acquireTime ? new Date(record.acquireTime) : now,
          renewTime: now,
          transitions: ours ? record.transitions : record.transitions + 1,
        }),
        options,
      );
      this.#observe(updated);
      return true;
    } catch (error) {
      this.#logAttemptFailure('update', error);
      return false;
    }
  }

  async #release(): Promise<void> {
    const { coordination, namespace, name, logger } = this.#options;
    const options = withTimeout(Math.min(this.#renewDeadlineMs, 5_000));
    try {
      const lease = await coordination.readNamespacedLease({ name, namespace }, options);
      if (recordOf(lease).holder !== this.identity) return;
      const now = new Date();
      await this.#replace(
        lease,
        {
          holderIdentity: '',
          leaseDurationSeconds: 1,
          acquireTime: new V1MicroTime(now.getTime()),
          renewTime: new V1MicroTime(now.getTime()),
          leaseTransitions: recordOf(lease).transitions,
        },
        options,
      );
      logger.info({ identity: this.identity, lease: this.#leaseName() }, 'leadership released');
    } catch (error) {
      // The lease then simply expires; the next leader waits leaseDuration instead of retryPeriod.
      logger.warn(
        { code: 'TG_ERR_LEADER_ELECTION', lease: this.#leaseName(), error: describeApiError(error) },
        'could not release the lease',
      );
    }
  }

  /** Writes `spec` over the Lease as read: conditional on its resourceVersion, labels and annotations kept. */
  #replace(lease: V1Lease, spec: V1LeaseSpec, options: ReturnType<typeof withTimeout>): Promise<V1Lease> {
    const { coordination, namespace, name } = this.#options;
    const { resourceVersion, labels, annotations } = lease.metadata ?? {};
    return coordination.replaceNamespacedLease(
      {
        name,
        namespace,
        body: {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace, resourceVersion, labels, annotations },
          spec,
        },
      },
      options,
    );
  }

  #spec(times: { acquireTime: Date; renewTime: Date; transitions: number }): V1LeaseSpec {
    return {
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.max(1, Math.ceil(this.#leaseDurationMs / 1000)),
      // MicroTime: the API server refuses the millisecond timestamps a plain Date serializes to.
      acquireTime: new V1MicroTime(times.acquireTime.getTime()),
      renewTime: new V1MicroTime(times.renewTime.getTime()),
      leaseTransitions: times.transitions,
    };
  }

  /** Remembers the record and, when it changed, the local time it was first seen. */
  #observe(lease: V1Lease, record: LeaseRecord = recordOf(lease)): void {
    const json = JSON.stringify(record);
    if (json !== this.#observedRecord) {
      this.#observedRecord = json;
      this.#observedAt = performance.now();
    }
    if (record.holder !== this.#observedHolder) {
      this.#observedHolder = record.holder;
      if (record.holder !== this.identity)
        this.#options.logger.info(
          { leader: record.holder || '(none)', lease: this.#leaseName() },
          'new leader observed',
        );
      this.emit('leader', record.holder);
    }
  }

  #logAttemptFailure(step: string, error: unknown): void {
    if (this.#stop.signal.aborted) return;
    const status = httpStatusOf(error);
    // Conflicts are the expected outcome of a race between candidates.
    const level = status === 409 ? 'debug' : 'warn';
    this.#options.logger[level](
      { code: 'TG_ERR_LEADER_ELECTION', lease: this.#leaseName(), step, error: describeApiError(error) },
      'lease attempt failed',
    );
  }

  #leaseName(): string {
    return `${this.#options.namespace}/${this.#options.name}`;
  }

  async #sleep(ms: number): Promise<void> {
    await sleep(ms, undefined, { signal: this.#stop.signal }).catch(() => undefined);
  }
}

function recordOf(lease: V1Lease): LeaseRecord {
  const spec = lease.spec ?? {};
  const time = (value: Date | undefined) => (value ? new Date(value).toISOString() : '');
  return {
    holder: spec.holderIdentity ?? '',
    leaseDurationSeconds: spec.leaseDurationSeconds ?? DEFAULT_LEASE_DURATION_MS / 1000,
    acquireTime: time(spec.acquireTime),
    renewTime: time(spec.renewTime),
    transitions: spec.leaseTransitions ?? 0,
  };
}
