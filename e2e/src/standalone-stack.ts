// Starts the real standalone stack for a test: a controller process (file source on a temp
// directory) and a data-plane process, connected over real gRPC on ephemeral loopback ports.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, type StartedProcess } from '@tollgate/testkit';
import { startControllerProcess } from './controller-process.ts';
import { startDataplaneProcess } from './dataplane-process.ts';

export interface StandaloneStack {
  dir: string;
  gatewayUrl: string;
  controllerAdminUrl: string;
  dataplaneAdminUrl: string;
  grpcPort: number;
  controller: StartedProcess;
  dataplane: StartedProcess;
  writeManifest(file: string, yaml: string): Promise<void>;
  startController(): Promise<StartedProcess>;
  stop(): Promise<void>;
}

export async function startStandaloneStack(manifests: Record<string, string>): Promise<StandaloneStack> {
  const dir = await mkdtemp(path.join(tmpdir(), 'tollgate-e2e-'));
  for (const [file, yaml] of Object.entries(manifests)) await writeFile(path.join(dir, file), yaml);
  const [grpcPort, controllerAdminPort, gatewayPort, dataplaneAdminPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const controllerAdminUrl = `http://127.0.0.1:${controllerAdminPort}`;
  const dataplaneAdminUrl = `http://127.0.0.1:${dataplaneAdminPort}`;

  const startController = (): Promise<StartedProcess> =>
    startControllerProcess({ dir, grpcPort, adminPort: controllerAdminPort });

  const controller = await startController();
  const dataplane = await startDataplaneProcess({ gatewayPort, adminPort: dataplaneAdminPort, grpcPort });

  const stack: StandaloneStack = {
    dir,
    gatewayUrl: `http://127.0.0.1:${gatewayPort}`,
    controllerAdminUrl,
    dataplaneAdminUrl,
    grpcPort,
    controller,
    dataplane,
    writeManifest: (file, yaml) => writeFile(path.join(dir, file), yaml),
    startController: async () => {
      stack.controller = await startController();
      return stack.controller;
    },
    stop: async () => {
      await Promise.all([stack.controller.stop(), stack.dataplane.stop()]);
      await rm(dir, { recursive: true, force: true });
    },
  };
  return stack;
}

export const routeYaml = (name: string, prefix: string, url: string, extra = ''): string => `
apiVersion: tollgate.dev/v1alpha1
kind: Route
metadata:
  name: ${name}
  namespace: e2e
spec:
  rules:
    - matches:
        - path: { type: PathPrefix, value: ${prefix} }
      backendRefs:
        - url: ${url}
${extra}`;
