// The Programmed condition: whether the data planes actually run what translation accepted.
// Translation cannot know this (it is pure); it comes from the snapshot server's ACK records.
import type { Condition } from '@tollgate/api';

export interface RolloutState {
  /** Version of the latest published snapshot (undefined before the first one). */
  version: string | undefined;
  connected: number;
  /** Connected data planes that ACKed `version`. */
  acked: number;
  /** NACK messages for `version`, by node id. */
  rejections: Array<{ node: string; message: string }>;
}

export function programmedCondition(
  accepted: boolean,
  rollout: RolloutState,
  generation?: number,
): Condition {
  const base = { type: 'Programmed', observedGeneration: generation };
  if (!accepted) {
    return {
      ...base,
      status: 'False',
      reason: 'NotAccepted',
      message: 'Not in any snapshot: see the Accepted condition.',
    };
  }
  if (!rollout.version) {
    return { ...base, status: 'Unknown', reason: 'Pending', message: 'No snapshot has been built yet.' };
  }
  const first = rollout.rejections[0];
  if (first) {
    return {
      ...base,
      status: 'False',
      reason: 'Rejected',
      message: `Snapshot ${rollout.version} was rejected by ${rollout.rejections.length} data plane(s) (${rollout.acked} of ${rollout.connected} run it); ${first.node}: ${first.message}`,
    };
  }
  if (rollout.connected === 0) {
    return {
      ...base,
      status: 'Unknown',
      reason: 'NoDataPlanes',
      message: `In snapshot ${rollout.version}; no data plane is connected.`,
    };
  }
  if (rollout.acked < rollout.connected) {
    return {
      ...base,
      status: 'Unknown',
      reason: 'Pending',
      message: `In snapshot ${rollout.version}; ${rollout.acked} of ${rollout.connected} data planes run it.`,
    };
  }
  return {
    ...base,
    status: 'True',
    reason: 'Programmed',
    message: `In snapshot ${rollout.version}; ${rollout.acked} of ${rollout.connected} data planes run it.`,
  };
}
