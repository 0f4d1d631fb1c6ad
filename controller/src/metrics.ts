// Controller metrics on its admin port. A registry of its own (not prom-client's global one) so
// tests and embedded use never collide.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export interface ControllerMetrics {
  registry: Registry;
  snapshotBuilds: Counter<'result'>;
  snapshotBuildSeconds: Histogram;
  snapshotObjects: Gauge<'kind' | 'accepted'>;
  connectedDataplanes: Gauge;
  dataplaneSnapshot: Gauge<'node' | 'version'>;
  dataplaneInfo: Gauge<'node' | 'zone' | 'build_version'>;
  dataplanesBehind: Gauge;
  snapshotInfo: Gauge<'version'>;
  pushLatencySeconds: Histogram;
  nacks: Counter;
  sourceProblems: Gauge;
}

export function createControllerMetrics(): ControllerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'tollgate_controller_' });
  return {
    registry,
    snapshotBuilds: new Counter({
      name: 'tollgate_controller_snapshot_builds_total',
      help: 'Snapshot builds, by result (published, unchanged).',
      labelNames: ['result'],
      registers: [registry],
    }),
    snapshotBuildSeconds: new Histogram({
      name: 'tollgate_controller_snapshot_build_seconds',
      help: 'Time to translate the object set into a snapshot.',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    snapshotObjects: new Gauge({
      name: 'tollgate_controller_objects',
      help: 'Tollgate objects in the latest translation, by kind and whether they were accepted.',
      labelNames: ['kind', 'accepted'],
      registers: [registry],
    }),
    connectedDataplanes: new Gauge({
      name: 'tollgate_controller_connected_dataplanes',
      help: 'Data planes with an open config stream.',
      registers: [registry],
    }),
    dataplaneSnapshot: new Gauge({
      name: 'tollgate_controller_dataplane_snapshot_info',
      help: 'The snapshot version each connected data plane runs (value 1).',
      labelNames: ['node', 'version'],
      registers: [registry],
    }),
    dataplaneInfo: new Gauge({
      name: 'tollgate_controller_dataplane_info',
      help: 'Each connected data plane (value 1), by node id, zone and build version.',
      labelNames: ['node', 'zone', 'build_version'],
      registers: [registry],
    }),
    dataplanesBehind: new Gauge({
      name: 'tollgate_controller_dataplanes_behind',
      help: 'Connected data planes not running the latest published snapshot (still applying, or rejected it).',
      registers: [registry],
    }),
    snapshotInfo: new Gauge({
      name: 'tollgate_controller_snapshot_info',
      help: 'The latest published snapshot version (value 1).',
      labelNames: ['version'],
      registers: [registry],
    }),
    pushLatencySeconds: new Histogram({
      name: 'tollgate_controller_push_latency_seconds',
      help: 'Time from publishing a snapshot to a data plane ACKing it.',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    nacks: new Counter({
      name: 'tollgate_controller_nacks_total',
      help: 'Snapshots rejected by data planes.',
      registers: [registry],
    }),
    sourceProblems: new Gauge({
      name: 'tollgate_controller_source_problems',
      help: 'Problems reading the source (files that do not parse, watch errors).',
      registers: [registry],
    }),
  };
}

export interface DataplaneNode {
  id: string;
  zone: string;
  buildVersion: string;
  ackedVersion?: string;
}

/**
 * Writes what the controller knows of its data planes: how many, which snapshot and build each
 * runs, and how many lag behind the latest published version.
 */
export function recordDataplanes(
  metrics: ControllerMetrics,
  nodes: readonly DataplaneNode[],
  publishedVersion: string | undefined,
): void {
  metrics.connectedDataplanes.set(nodes.length);
  metrics.dataplaneSnapshot.reset();
  metrics.dataplaneInfo.reset();
  let behind = 0;
  for (const node of nodes) {
    metrics.dataplaneSnapshot.set({ node: node.id, version: node.ackedVersion ?? 'none' }, 1);
    metrics.dataplaneInfo.set({ node: node.id, zone: node.zone, build_version: node.buildVersion }, 1);
    if (publishedVersion !== undefined && node.ackedVersion !== publishedVersion) behind++;
  }
  metrics.dataplanesBehind.set(behind);
  metrics.snapshotInfo.reset();
  if (publishedVersion !== undefined) metrics.snapshotInfo.set({ version: publishedVersion }, 1);
}
