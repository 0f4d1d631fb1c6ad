// What the data-plane process tests (one process, or a primary with workers) stand on: an upstream
// that answers after a delay the request asks for, a minimal controller that hands every stream one
// snapshot over real gRPC and records the ACKs, and `src/main.ts` started as a real process.
import path from 'node:path';
import { Server, ServerCredentials, type ServerDuplexStream } from '@grpc/grpc-js';
import {
  type ConfigRequest,
  type ConfigResponse,
  configDiscoveryDefinition,
  configResponse,
  encodeSnapshot,
  SNAPSHOT_ENCODING,
  type Snapshot,
} from '@tollgate/snapshot';
import {
  freePort,
  type StartedProcess,
  startProcess,
  startUpstream,
  type TestUpstream,
} from '@tollgate/testkit';
import { cluster, entry, snapshotOf } from './helpers.ts';

const main = path.resolve(import.meta.dirname, '../src/main.ts');

/** Upstream `slow`: answers 200 "finished" (with `headers`) after `?delay=` milliseconds. */
export function startDelayedUpstream(headers: Record<string, string> = {}): Promise<TestUpstream> {
  return startUpstream('slow', (req, res) => {
    const delay = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('delay') ?? 0);
    setTimeout(() => {
      res.writeHead(200, headers);
      res.end('finished');
    }, delay);
  });
}

/** A snapshot that routes every path of any host to the upstream. */
export function catchAllSnapshot(upstream: TestUpstream): Snapshot {
  return snapshotOf({ '*': [entry('app', { backends: [['slow', 1]] })] }, [cluster('slow', [upstream.port])]);
}

export interface SnapshotController {
  port: number;
  /** Every ACK, in arrival order: the node of its stream and the version it acknowledged. */
  acks: Array<{ node: string; version: string }>;
  close(): void;
}

/** A minimal controller: answers the first request of each stream with the snapshot, records ACKs. */
export async function startSnapshotController(snapshot: Snapshot): Promise<SnapshotController> {
  const acks: SnapshotController['acks'] = [];
  const server = new Server();
  server.addService(configDiscoveryDefinition, {
    streamConfig: (call: ServerDuplexStream<ConfigRequest, ConfigResponse>) => {
      let sent = false;
      let node = '';
      call.on('data', (message: ConfigRequest) => {
        // The stream's first request identifies the data plane; an ACK carries the nonce.
        node ||= message.node?.id ?? '';
        if (message.responseNonce) acks.push({ node, version: message.versionInfo });
        if (sent) return;
        sent = true;
        call.write(
          configResponse({
            versionInfo: snapshot.version,
            nonce: 'n1',
            snapshot: encodeSnapshot(snapshot),
            encoding: SNAPSHOT_ENCODING,
          }),
        );
      });
      call.on('error', () => {});
      call.on('end', () => call.end());
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  return { port, acks, close: () => server.forceShutdown() };
}

export interface MainProcess {
  proc: StartedProcess;
  port: number;
  adminPort: number;
}

/**
 * `src/main.ts` (or another `entry`, say the built bundle) on free proxy and admin ports, with a
 * 10 s drain unless `env` says otherwise (stop it with stopAllProcesses).
 */
export async function startMainProcess(options: {
  controller: string;
  nodeId: string;
  name: string;
  args?: string[];
  entry?: string;
  cwd?: string;
  env?: Record<string, string>;
}): Promise<MainProcess> {
  const [port, adminPort] = await Promise.all([freePort(), freePort()]);
  const proc = startProcess(
    process.execPath,
    [
      options.entry ?? main,
      '--listen',
      `127.0.0.1:${port}`,
      '--admin',
      `127.0.0.1:${adminPort}`,
      '--controller',
      options.controller,
      '--node-id',
      options.nodeId,
      ...(options.args ?? []),
    ],
    {
      name: options.name,
      ...(options.cwd ? { cwd: options.cwd } : {}),
      env: { TOLLGATE_DRAIN_SECONDS: '10', ...options.env },
    },
  );
  return { proc, port, adminPort };
}
