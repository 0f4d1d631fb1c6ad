// The controller loop: source → translate → snapshot server, with statuses kept for the status
// layer. Bursts of source changes coalesce into one translation; an unchanged version is never
// republished (the server drops it).
import { EventEmitter } from 'node:events';
import type { Condition } from '@tollgate/api';
import type { Logger, Tracer } from '@tollgate/telemetry';
import { type ControllerMetrics, recordDataplanes } from './metrics.ts';
import type { SnapshotServer } from './server/index.ts';
import type { ObjectSource, SourceProblem, SourceState } from './sources/index.ts';
import { programmedCondition, type RolloutState } from './status/programmed.ts';
import { type ReportedDataplane, reportLocal, rolloutOf } from './status/rollout.ts';
import { type ObjectStatusReport, translate } from './translate/index.ts';

export interface ObjectStatusView extends ObjectStatusReport {
  /** Accepted and ResolvedRefs from translation, plus Programmed from the rollout. */
  conditions: Condition[];
}

export interface ControllerStatus {
  ready: boolean;
  version: string | undefined;
  rollout: RolloutState;
  objects: ObjectStatusView[];
  problems: SourceProblem[];
  dataplanes: ReturnType<SnapshotServer['nodes']>;
  /** Data planes other replicas report (set on the leader only; see setRemoteDataplanes). */
  remoteDataplanes: ReportedDataplane[];
}

export interface ControllerOptions {
  source: ObjectSource;
  server: SnapshotServer;
  logger: Logger;
  metrics: ControllerMetrics;
  /** Coalescing window for bursts of source changes. */
  debounceMs?: number;
  /** When tracing is on: a span per snapshot build. */
  tracer?: Tracer;
}

export class Controller extends EventEmitter<{ statuses: [ControllerStatus] }> {
  readonly #options: ControllerOptions;
  #statuses: ObjectStatusReport[] = [];
  #problems: SourceProblem[] = [];
  #pending: SourceState | undefined;
  #timer: NodeJS.Timeout | undefined;
  #ready = false;
  #publishedAt = new Map<string, number>();
  #remote: ReportedDataplane[] = [];

  constructor(options: ControllerOptions) {
    super();
    this.#options = options;
    const { server, metrics } = options;
    server.on('ack', (_node: { id: string }, version: string) => {
      const publishedAt = this.#publishedAt.get(version);
      if (publishedAt !== undefined)
        metrics.pushLatencySeconds.observe((performance.now() - publishedAt) / 1000);
      this.#refreshDataplaneMetrics();
      this.#emitStatus();
    });
    server.on('nack', (node: { id: string }, version: string, message: string) => {
      metrics.nacks.inc();
      options.logger.warn({ node: node.id, version, reason: message }, 'data plane rejected snapshot');
      this.#emitStatus();
    });
    server.on('connect', () => this.#refreshDataplaneMetrics());
    server.on('disconnect', () => {
      this.#refreshDataplaneMetrics();
      this.#emitStatus();
    });
  }

  /** Starts the source; resolves once the first complete snapshot is published. */
  async start(): Promise<void> {
    this.#options.source.on('change', (state) => this.#onChange(state));
    await this.#options.source.start();
    this.#flush();
  }

  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    await this.#options.source.stop();
  }

  get ready(): boolean {
    return this.#ready;
  }

  status(): ControllerStatus {
    const rollout = this.#rollout();
    const objects = this.#statuses.map((report) => {
      const accepted = report.conditions.find((c) => c.type === 'Accepted')?.status === 'True';
      return {
        ...report,
        conditions: [...report.conditions, programmedCondition(accepted, rollout, report.generation)],
      };
    });
    return {
      ready: this.#ready,
      version: this.#options.server.version,
      rollout,
      objects,
      problems: this.#problems,
      dataplanes: this.#options.server.nodes(),
      remoteDataplanes: this.#remote,
    };
  }

  /**
   * The data planes connected to the other replicas (from their reports); they count towards
   * Programmed like local ones. Emits statuses when the set changed.
   */
  setRemoteDataplanes(dataplanes: ReportedDataplane[]): void {
    if (JSON.stringify(dataplanes) === JSON.stringify(this.#remote)) return;
    this.#remote = dataplanes;
    this.#emitStatus();
  }

  #onChange(state: SourceState): void {
    this.#pending = state;
    // Before the first snapshot, start() flushes synchronously after the initial read.
    if (!this.#ready) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#flush(), this.#options.debounceMs ?? 20);
  }

  #flush(): void {
    const state = this.#pending ?? this.#options.source.current();
    this.#pending = undefined;
    const { server, metrics, logger } = this.#options;
    const started = performance.now();
    const span = this.#options.tracer?.startSpan('snapshot build');
    const { snapshot, statuses } = translate(state.objects);
    const elapsed = (performance.now() - started) / 1000;
    metrics.snapshotBuildSeconds.observe(elapsed);
    this.#statuses = statuses;
    this.#problems = state.problems;
    metrics.sourceProblems.set(state.problems.length);
    this.#recordObjectCounts(statuses);
    for (const problem of state.problems) logger.warn({ location: problem.location }, problem.message);
    const published = server.publish(snapshot);
    metrics.snapshotBuilds.inc({ result: published ? 'published' : 'unchanged' });
    if (span) {
      span.setAttributes({
        'tollgate.snapshot.version': snapshot.version,
        'tollgate.snapshot.published': published,
        'tollgate.snapshot.objects': statuses.length,
        'tollgate.snapshot.routes': countRoutes(snapshot),
      });
      span.end();
    }
    if (published) {
      this.#refreshDataplaneMetrics();
      this.#publishedAt.set(snapshot.version, performance.now());
      if (this.#publishedAt.size > 16) this.#publishedAt.delete(this.#publishedAt.keys().next().value!);
      logger.info(
        { version: snapshot.version, routes: countRoutes(snapshot), buildMs: Math.round(elapsed * 1000) },
        'snapshot published',
      );
    }
    this.#ready = true;
    this.#emitStatus();
  }

  #rollout(): RolloutState {
    const { server } = this.#options;
    return rolloutOf(server.version, [...reportLocal(server.nodes(), ''), ...this.#remote]);
  }

  #recordObjectCounts(statuses: ObjectStatusReport[]): void {
    const { snapshotObjects } = this.#options.metrics;
    snapshotObjects.reset();
    for (const report of statuses) {
      const accepted = report.conditions.find((c) => c.type === 'Accepted')?.status === 'True';
      snapshotObjects.inc({ kind: report.ref.kind, accepted: String(accepted) });
    }
  }

  #refreshDataplaneMetrics(): void {
    const { metrics, server } = this.#options;
    recordDataplanes(metrics, server.nodes(), server.version);
  }

  #emitStatus(): void {
    if (this.listenerCount('statuses') > 0) this.emit('statuses', this.status());
  }
}

function countRoutes(snapshot: { virtualHosts: Array<{ routes: unknown[] }> }): number {
  return snapshot.virtualHosts.reduce((sum, host) => sum + host.routes.length, 0);
}
