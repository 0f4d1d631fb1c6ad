// The rollout across every controller replica: each replica knows only the data planes connected
// to it, so the leader merges its own with the ones the other replicas report (see
// kubernetes/replica-report.ts) before computing Programmed.
import type { RolloutState } from './programmed.ts';

/** One data plane as a replica reports it; the shape of the report annotation's entries. */
export interface ReportedDataplane {
  node: string;
  zone: string;
  /** The version it runs (last ACK, NACK or first request). */
  ackedVersion?: string;
  lastNack?: { version: string; message: string };
  /** ISO time its stream opened. */
  connectedSince: string;
  /** Identity of the replica it is connected to. */
  replica: string;
}

/** What the controller needs of a locally connected node (SnapshotServer's ConnectedNode). */
export interface LocalDataplane {
  id: string;
  zone: string;
  connectedAt: number;
  ackedVersion?: string;
  lastNack?: { version: string; message: string };
}

export function reportLocal(nodes: readonly LocalDataplane[], replica: string): ReportedDataplane[] {
  return nodes.map((n) => ({
    node: n.id,
    zone: n.zone,
    ...(n.ackedVersion ? { ackedVersion: n.ackedVersion } : {}),
    ...(n.lastNack ? { lastNack: { version: n.lastNack.version, message: n.lastNack.message } } : {}),
    connectedSince: new Date(n.connectedAt).toISOString(),
    replica,
  }));
}

/** The rollout of `version` over every data plane (local and reported). */
export function rolloutOf(
  version: string | undefined,
  dataplanes: readonly ReportedDataplane[],
): RolloutState {
  return {
    version,
    connected: dataplanes.length,
    acked: version ? dataplanes.filter((d) => d.ackedVersion === version).length : 0,
    rejections: dataplanes
      .filter((d) => d.lastNack && d.lastNack.version === version)
      .map((d) => ({ node: d.node, message: d.lastNack!.message })),
  };
}
