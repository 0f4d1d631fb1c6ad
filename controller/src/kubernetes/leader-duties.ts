// What only the leader does, switched on by leader election: write statuses and record Events.
// Every replica translates and serves snapshots; the replica that holds the Lease also subscribes
// to the controller's statuses and writes them. Losing the Lease ends the process (onLost): a
// replica that cannot be sure it still leads must stop writing at once, and a restart is the
// simplest safe state (client-go controllers do the same).
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '@tollgate/telemetry';
import { Gauge, type Registry } from 'prom-client';
import type { Controller, ControllerStatus } from '../controller.ts';
import { createKubeApis } from './client.ts';
import { EventRecorder, NackEvents, rejectionEvents } from './events.ts';
import {
  DEFAULT_LEASE_DURATION_MS,
  DEFAULT_RENEW_DEADLINE_MS,
  DEFAULT_RETRY_PERIOD_MS,
  defaultIdentity,
  LeaderElector,
} from './leader-election.ts';
import { StatusWriter } from './status-writer.ts';

/** `serve` flags of leader election, for parseArgs (each also read from the environment). */
export const LEADER_ELECTION_FLAGS = {
  'lease-name': { type: 'string', default: process.env.TOLLGATE_LEASE_NAME ?? 'tollgate-controller' },
  /** Default: POD_NAMESPACE, else the kubeconfig context's namespace, else "default". */
  'lease-namespace': { type: 'string', default: process.env.TOLLGATE_LEASE_NAMESPACE },
  'lease-duration': { type: 'string', default: process.env.TOLLGATE_LEASE_DURATION ?? '15s' },
  'renew-deadline': { type: 'string', default: process.env.TOLLGATE_RENEW_DEADLINE ?? '10s' },
  'retry-period': { type: 'string', default: process.env.TOLLGATE_RETRY_PERIOD ?? '2s' },
} as const;

export type LeaderElectionFlags = { [K in keyof typeof LEADER_ELECTION_FLAGS]?: string };

/** "15s", "500ms", "1.5" (seconds). */
export function parseDuration(value: string | undefined, flag: string, fallbackMs: number): number {
  if (value === undefined || value === '') return fallbackMs;
  const match = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(value.trim());
  if (!match) throw new Error(`--${flag}: expected a duration like 15s or 500ms, got "${value}"`);
  return match[2] === 'ms' ? Number(match[1]) : Number(match[1]) * 1000;
}

export interface LeaderDutiesOptions {
  kubeConfig: KubeConfig;
  controller: Pick<Controller, 'on' | 'off' | 'status'>;
  logger: Logger;
  flags: LeaderElectionFlags;
  /** Called once when leadership is lost; main exits non-zero. */
  onLost: (reason: string) => void;
  registry?: Registry;
  env?: NodeJS.ProcessEnv;
}

export interface LeaderDuties {
  elector: LeaderElector;
  /** Stops writing and releases the Lease (graceful shutdown). */
  stop(): Promise<void>;
}

export function startLeaderDuties(options: LeaderDutiesOptions): LeaderDuties {
  const { kubeConfig, controller, logger, flags, registry } = options;
  const env = options.env ?? process.env;
  const apis = createKubeApis(kubeConfig);
  const identity = defaultIdentity(env);
  const namespace =
    flags['lease-namespace'] ||
    env.POD_NAMESPACE ||
    kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace ||
    'default';
  const name = flags['lease-name'] || 'tollgate-controller';
  const elector = new LeaderElector({
    coordination: apis.coordination,
    namespace,
    name,
    identity,
    logger,
    leaseDurationMs: parseDuration(flags['lease-duration'], 'lease-duration', DEFAULT_LEASE_DURATION_MS),
    renewDeadlineMs: parseDuration(flags['renew-deadline'], 'renew-deadline', DEFAULT_RENEW_DEADLINE_MS),
    retryPeriodMs: parseDuration(flags['retry-period'], 'retry-period', DEFAULT_RETRY_PERIOD_MS),
  });
  const leaderGauge = registry
    ? ((registry.getSingleMetric('tollgate_controller_leader') as Gauge | undefined) ??
      new Gauge({
        name: 'tollgate_controller_leader',
        help: '1 while this replica holds the leader-election Lease (and writes status and Events).',
        registers: [registry],
      }))
    : undefined;
  leaderGauge?.set(0);

  const recorder = new EventRecorder({ events: apis.events, logger, instance: identity, registry });
  const writer = new StatusWriter({
    customObjects: apis.customObjects,
    logger,
    registry,
    onChange: rejectionEvents(recorder),
  });
  // NACKs are about the whole controller, so they go on its Lease (always there while it leads).
  const nacks = new NackEvents(recorder, {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    namespace,
    name,
  });
  const onStatuses = (status: ControllerStatus): void => {
    writer.update(status.objects);
    nacks.observe(status.dataplanes);
  };

  elector.on('leading', () => {
    leaderGauge?.set(1);
    logger.info({ identity }, 'leading: writing status and events');
    controller.on('statuses', onStatuses);
    onStatuses(controller.status());
  });
  elector.on('lost', (reason) => {
    leaderGauge?.set(0);
    controller.off('statuses', onStatuses);
    void writer.stop();
    options.onLost(reason);
  });
  elector.start();

  return {
    elector,
    async stop() {
      controller.off('statuses', onStatuses);
      await writer.stop();
      await recorder.stop();
      await elector.stop();
      leaderGauge?.set(0);
    },
  };
}
