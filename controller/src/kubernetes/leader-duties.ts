// What only the leader does, switched on by leader election: write statuses and record Events.
// Every replica translates and serves snapshots; the replica that holds the Lease also subscribes
// to the controller's statuses and writes them. Losing the Lease ends the process (onLost): a
// replica that cannot be sure it still leads must stop writing at once, and a restart is the
// simplest safe state (client-go controllers do the same). Every replica also publishes its data
// planes in a report Lease, and the leader merges the other replicas' reports into Programmed and
// the NACK Events (replica-report.ts).
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '@tollgate/telemetry';
import { Gauge, type Registry } from 'prom-client';
import type { Controller, ControllerStatus } from '../controller.ts';
import { reportLocal } from '../status/rollout.ts';
import { createKubeApis } from './client.ts';
import { EventRecorder, NackEvents, rejectionEvents } from './events.ts';
import {
  DEFAULT_LEASE_DURATION_MS,
  DEFAULT_RENEW_DEADLINE_MS,
  DEFAULT_RETRY_PERIOD_MS,
  defaultIdentity,
  LeaderElector,
} from './leader-election.ts';
import {
  DEFAULT_REPLICA_REPORT_PERIOD_MS,
  DEFAULT_REPLICA_REPORT_SLOTS,
  ReplicaReporter,
  ReplicaReportReader,
  type ReplicaReports,
} from './replica-report.ts';
import { StatusWriter } from './status-writer.ts';

/** `serve` flags of leader election, for parseArgs (each also read from the environment). */
export const LEADER_ELECTION_FLAGS = {
  'lease-name': { type: 'string', default: process.env.TOLLGATE_LEASE_NAME ?? 'tollgate-controller' },
  /** Default: POD_NAMESPACE, else the kubeconfig context's namespace, else "default". */
  'lease-namespace': { type: 'string', default: process.env.TOLLGATE_LEASE_NAMESPACE },
  'lease-duration': { type: 'string', default: process.env.TOLLGATE_LEASE_DURATION ?? '15s' },
  'renew-deadline': { type: 'string', default: process.env.TOLLGATE_RENEW_DEADLINE ?? '10s' },
  'retry-period': { type: 'string', default: process.env.TOLLGATE_RETRY_PERIOD ?? '2s' },
  /** How often each replica renews its data-plane report (reports expire after 3 periods). */
  'replica-report-period': { type: 'string', default: process.env.TOLLGATE_REPLICA_REPORT_PERIOD ?? '5s' },
  /** How many report Leases (`<lease-name>-replica-<0..n-1>`) replicas may claim. */
  'replica-report-slots': {
    type: 'string',
    default: process.env.TOLLGATE_REPLICA_REPORT_SLOTS ?? String(DEFAULT_REPLICA_REPORT_SLOTS),
  },
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
  controller: Pick<Controller, 'on' | 'off' | 'status' | 'setRemoteDataplanes'>;
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
  const slots = Number(flags['replica-report-slots'] || DEFAULT_REPLICA_REPORT_SLOTS);
  if (!Number.isInteger(slots) || slots < 1)
    throw new Error(
      `TG_ERR_LEADER_ELECTION_CONFIG: --replica-report-slots must be a positive integer, got "${flags['replica-report-slots']}"`,
    );
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
  const fleetGauge = registry ? replicaGauges(registry) : undefined;

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
    nacks.observe([
      ...status.dataplanes,
      ...status.remoteDataplanes.map((d) => ({
        id: d.node,
        ...(d.lastNack ? { lastNack: d.lastNack } : {}),
      })),
    ]);
    fleetGauge?.dataplanes.set(status.dataplanes.length + status.remoteDataplanes.length);
  };

  // Every replica reports its data planes; the leader merges the others' reports into Programmed.
  const reportOptions = {
    coordination: apis.coordination,
    namespace,
    leaseName: name,
    identity,
    logger,
    slots,
    periodMs: parseDuration(
      flags['replica-report-period'],
      'replica-report-period',
      DEFAULT_REPLICA_REPORT_PERIOD_MS,
    ),
  };
  const reporter = new ReplicaReporter({
    ...reportOptions,
    dataplanes: () => reportLocal(controller.status().dataplanes, identity),
  });
  const onLocalChange = (): void => reporter.changed();
  controller.on('statuses', onLocalChange);
  reporter.start();
  const reader = new ReplicaReportReader({
    ...reportOptions,
    onReports: (reports: ReplicaReports) => {
      fleetGauge?.reports.set({ state: 'fresh' }, reports.fresh);
      fleetGauge?.reports.set({ state: 'expired' }, reports.expired);
      controller.setRemoteDataplanes(reports.dataplanes);
    },
  });

  elector.on('leading', () => {
    leaderGauge?.set(1);
    logger.info({ identity }, 'leading: writing status and events');
    controller.on('statuses', onStatuses);
    onStatuses(controller.status());
    reader.start();
  });
  elector.on('lost', (reason) => {
    leaderGauge?.set(0);
    controller.off('statuses', onStatuses);
    void reader.stop();
    void writer.stop();
    options.onLost(reason);
  });
  elector.start();

  return {
    elector,
    async stop() {
      controller.off('statuses', onStatuses);
      controller.off('statuses', onLocalChange);
      await reader.stop();
      await reporter.stop();
      await writer.stop();
      await recorder.stop();
      await elector.stop();
      leaderGauge?.set(0);
    },
  };
}

function replicaGauges(registry: Registry): { dataplanes: Gauge; reports: Gauge<'state'> } {
  const existing = (metric: string) => registry.getSingleMetric(metric);
  return {
    dataplanes:
      (existing('tollgate_controller_fleet_connected_dataplanes') as Gauge | undefined) ??
      new Gauge({
        name: 'tollgate_controller_fleet_connected_dataplanes',
        help: 'Data planes connected to any controller replica, as the leader sees them (its own plus fresh replica reports); 0 on followers.',
        registers: [registry],
      }),
    reports:
      (existing('tollgate_controller_replica_reports') as Gauge<'state'> | undefined) ??
      new Gauge({
        name: 'tollgate_controller_replica_reports',
        help: 'Other replicas’ data-plane reports the leader read, by state (fresh, expired).',
        labelNames: ['state'],
        registers: [registry],
      }),
  };
}
