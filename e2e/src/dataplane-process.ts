// One data-plane process for an e2e stack, started the way `make up` and the chart start it, and
// awaited until its readiness endpoint says it runs a snapshot.
import path from 'node:path';
import { type StartedProcess, startProcess, waitFor } from '@tollgate/testkit';

const root = path.resolve(import.meta.dirname, '../..');

export interface DataplaneProcessPorts {
  gatewayPort: number;
  adminPort: number;
  grpcPort: number;
  /** Extra flags (e.g. `--redis <url>`). */
  args?: string[];
  /** Identity sent to the controller; several data planes of one stack need distinct ones. */
  nodeId?: string;
  /** The process's name in test output. Default `dataplane`. */
  name?: string;
  /** Extra environment (e.g. OTEL_* variables); it may override the 2 s drain. */
  env?: Record<string, string>;
}

export async function startDataplaneProcess({
  gatewayPort,
  adminPort,
  grpcPort,
  args = [],
  nodeId = 'e2e-dataplane',
  name = 'dataplane',
  env = {},
}: DataplaneProcessPorts): Promise<StartedProcess> {
  const dataplane = startProcess(
    process.execPath,
    [
      path.join(root, 'dataplane/src/main.ts'),
      '--listen',
      `127.0.0.1:${gatewayPort}`,
      '--admin',
      `127.0.0.1:${adminPort}`,
      '--controller',
      `127.0.0.1:${grpcPort}`,
      '--node-id',
      nodeId,
      ...args,
    ],
    { name, cwd: root, env: { TOLLGATE_DRAIN_SECONDS: '2', ...env } },
  );
  await waitFor(async () => (await fetch(`http://127.0.0.1:${adminPort}/readyz`)).ok, {
    what: 'data plane ready',
    timeoutMs: 20_000,
  });
  return dataplane;
}
