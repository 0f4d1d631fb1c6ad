// A real Redis for tests: Debian's redis-server on an ephemeral loopback port, no persistence.
// Fails loudly when redis-server is not installed, so no test silently skips shared-store checks.
import { spawnSync } from 'node:child_process';
import { freePort } from './ports.ts';
import { type StartedProcess, startProcess } from './process.ts';

export interface StartedRedis {
  readonly port: number;
  /** redis://127.0.0.1:<port> */
  readonly url: string;
  stop(): Promise<void>;
}

export async function startRedis(): Promise<StartedRedis> {
  const found = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (found.error || found.status !== 0) {
    throw new Error(
      'redis-server is not available; install it with `apt-get install -y redis-server` (.ci/run does this)',
    );
  }
  const port = await freePort();
  const server: StartedProcess = startProcess(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { name: 'redis' },
  );
  try {
    await server.waitForOutput(/Ready to accept connections/, 10_000);
  } catch (error) {
    await server.stop('SIGKILL');
    throw new Error(`redis-server did not start on port ${port}: ${server.output().slice(-2000)}`, {
      cause: error,
    });
  }
  let stopped: Promise<void> | undefined;
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop: () => {
      stopped ??= server.stop('SIGTERM', 2000).then(() => undefined);
      return stopped;
    },
  };
}
