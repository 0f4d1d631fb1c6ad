// One controller process for an e2e stack: `serve` with the file source on a directory, started
// the way `make up` starts it, and awaited until it says it is ready (stopped if it never is).
import path from 'node:path';
import { type StartedProcess, startProcess } from '@tollgate/testkit';

const root = path.resolve(import.meta.dirname, '../..');

export interface ControllerProcessOptions {
  /** The directory of manifests it watches. */
  dir: string;
  grpcPort: number;
  adminPort: number;
  /** The process's name in test output. Default `controller`. */
  name?: string;
  /** Extra environment (e.g. OTEL_* variables). */
  env?: Record<string, string>;
}

export async function startControllerProcess({
  dir,
  grpcPort,
  adminPort,
  name = 'controller',
  env,
}: ControllerProcessOptions): Promise<StartedProcess> {
  const controller = startProcess(
    process.execPath,
    [
      path.join(root, 'controller/src/main.ts'),
      'serve',
      '--dir',
      dir,
      '--grpc',
      `127.0.0.1:${grpcPort}`,
      '--admin',
      `127.0.0.1:${adminPort}`,
    ],
    { name, cwd: root, ...(env === undefined ? {} : { env }) },
  );
  try {
    await controller.waitForOutput(/controller ready/);
  } catch (error) {
    await controller.stop(); // never left running when it did not come up
    throw error;
  }
  return controller;
}
