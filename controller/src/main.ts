// tollgate-controller: `serve` runs the controller (manifests from a directory, or the Kubernetes
// API with `--source kubernetes`), `status` prints every object's conditions from a running
// controller's admin port.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createLogger, startTracing } from '@tollgate/telemetry';
import { ControllerAdminServer, renderStatusTable } from './admin/index.ts';
import { Controller, type ControllerStatus } from './controller.ts';
import { LEADER_ELECTION_FLAGS, startLeaderDuties } from './kubernetes/index.ts';
import { createControllerMetrics } from './metrics.ts';
import { SnapshotServer } from './server/index.ts';
import { FileSource, KubernetesSource, loadKubeConfig, type ObjectSource } from './sources/index.ts';

const USAGE = `usage:
  tollgate-controller serve  [--source file] --dir DIR [COMMON]
  tollgate-controller serve  --source kubernetes [--kubeconfig FILE] [--namespaces A,B] [COMMON]
      COMMON: [--grpc HOST:PORT] [--admin HOST:PORT] [--tls-ca F --tls-cert F --tls-key F]
      Leader election (kubernetes): [--lease-name N] [--lease-namespace NS] [--lease-duration 15s]
        [--renew-deadline 10s] [--retry-period 2s]; identity = $POD_NAME, else hostname_random.
      Replica reports (kubernetes): [--replica-report-period 5s] [--replica-report-slots 8]: each
        replica publishes its data planes in Lease <lease-name>-replica-<slot> for the leader.
      Kubernetes credentials: --kubeconfig, else $KUBECONFIG, else in-cluster, else ~/.kube/config.
  tollgate-controller status [--admin URL]
`;

function hostPort(value: string, flag: string): { host: string; port: number } {
  const match = /^(.*):(\d+)$/.exec(value);
  if (!match) throw new Error(`${flag}: expected HOST:PORT, got "${value}"`);
  return { host: match[1] || '0.0.0.0', port: Number(match[2]) };
}

async function serve(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      source: { type: 'string', default: process.env.TOLLGATE_SOURCE ?? 'file' },
      dir: { type: 'string', default: process.env.TOLLGATE_CONFIG_DIR },
      kubeconfig: { type: 'string' },
      namespaces: { type: 'string', default: process.env.TOLLGATE_NAMESPACES },
      grpc: { type: 'string', default: process.env.TOLLGATE_GRPC ?? '0.0.0.0:18000' },
      admin: { type: 'string', default: process.env.TOLLGATE_ADMIN ?? '0.0.0.0:9902' },
      'tls-ca': { type: 'string', default: process.env.TOLLGATE_TLS_CA },
      'tls-cert': { type: 'string', default: process.env.TOLLGATE_TLS_CERT },
      'tls-key': { type: 'string', default: process.env.TOLLGATE_TLS_KEY },
      ...LEADER_ELECTION_FLAGS,
    },
  });
  if (values.source !== 'file' && values.source !== 'kubernetes')
    throw new Error(`serve: --source must be "file" or "kubernetes", got "${values.source}"`);
  if (values.source === 'file' && !values.dir)
    throw new Error('serve: --dir (or TOLLGATE_CONFIG_DIR) is required');
  const logger = createLogger({ name: 'controller' });
  const tracing = startTracing({ serviceName: 'tollgate-controller' });
  logger.info({ tracing: tracing.enabled, reason: tracing.reason }, 'tracing');
  const metrics = createControllerMetrics();
  const tls =
    values['tls-ca'] && values['tls-cert'] && values['tls-key']
      ? {
          ca: readFileSync(values['tls-ca']),
          cert: readFileSync(values['tls-cert']),
          key: readFileSync(values['tls-key']),
        }
      : undefined;
  const server = new SnapshotServer({ logger, tls });
  const kubeConfig = values.source === 'kubernetes' ? loadKubeConfig(values.kubeconfig) : undefined;
  const namespaces =
    values.namespaces
      ?.split(',')
      .map((n) => n.trim())
      .filter(Boolean) ?? [];
  const source: ObjectSource = kubeConfig
    ? new KubernetesSource({ kubeConfig, namespaces, logger })
    : new FileSource({ directory: values.dir! });
  const controller = new Controller({
    source,
    server,
    logger,
    metrics,
    ...(tracing.tracer ? { tracer: tracing.tracer } : {}),
  });
  const admin = new ControllerAdminServer({ status: () => controller.status(), registry: metrics.registry });

  const grpcAddress = hostPort(values.grpc!, '--grpc');
  const adminAddress = hostPort(values.admin!, '--admin');
  // Streams are held by the server until the first snapshot is published (start() below).
  const grpcPort = await server.listen(grpcAddress.host, grpcAddress.port);
  const adminPort = await admin.listen(adminAddress.host, adminAddress.port);
  await controller.start();
  const from = kubeConfig ? kubeConfig.getCurrentCluster()?.server : values.dir;
  logger.info(
    { grpcPort, adminPort, source: values.source, from, version: server.version },
    'controller ready',
  );
  // Kubernetes: every replica serves; the Lease holder also writes status and Events, and exits if it loses the Lease.
  const leader =
    kubeConfig &&
    startLeaderDuties({
      kubeConfig,
      controller,
      logger,
      flags: values,
      registry: metrics.registry,
      onLost: () => process.exit(1),
    });

  let stopping = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'controller stopping');
    await leader?.stop();
    await controller.stop();
    await server.close(2_000);
    await admin.close();
    await tracing.shutdown().catch(() => {});
    logger.flush();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

async function status(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      admin: { type: 'string', default: process.env.TOLLGATE_CONTROLLER_ADMIN ?? 'http://127.0.0.1:9902' },
    },
  });
  let response: Response;
  try {
    response = await fetch(new URL('/status', values.admin));
  } catch (error) {
    throw new Error(
      `cannot reach the controller admin endpoint at ${values.admin}: ${(error as Error).message}`,
    );
  }
  if (!response.ok) throw new Error(`controller answered ${response.status} at ${values.admin}/status`);
  const body = (await response.json()) as ControllerStatus;
  process.stdout.write(renderStatusTable(body));
  const failing = body.objects.some((o) =>
    o.conditions.some((c) => c.type !== 'Programmed' && c.status === 'False'),
  );
  process.exitCode = failing || body.problems.length > 0 ? 1 : 0;
}

const [command = 'serve', ...rest] = process.argv.slice(2);
const commands: Record<string, (args: string[]) => Promise<void>> = { serve, status };
const run = commands[command];
if (!run) {
  process.stderr.write(USAGE);
  process.exit(2);
}
run(rest).catch((error: Error) => {
  process.stderr.write(`tollgate-controller ${command}: ${error.message}\n`);
  process.exit(1);
});
