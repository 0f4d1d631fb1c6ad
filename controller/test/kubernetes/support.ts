// Shared pieces of the Kubernetes tests: a logger that keeps lines for assertions, API clients for
// the test cluster (directly or through a proxy that can cut the API server off), fresh names.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { Writable } from 'node:stream';
import { KubeConfig } from '@kubernetes/client-node';
import { createLogger, type Logger } from '@tollgate/telemetry';
import type { KubeCluster } from '@tollgate/testkit';
import { createKubeApis, type KubeApis } from '../../src/kubernetes/client.ts';

export interface CapturedLogger {
  logger: Logger;
  lines: Array<Record<string, unknown>>;
}

export function captureLogger(): CapturedLogger {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: createLogger({ name: 'test', level: 'debug', destination }), lines };
}

export function apisFor(kubeconfig: string): KubeApis {
  const config = new KubeConfig();
  config.loadFromFile(kubeconfig);
  return createKubeApis(config);
}

let counter = 0;
/** A name no other test in this process used. */
export function uniqueName(prefix: string): string {
  counter += 1;
  return `${prefix}-${process.pid}-${counter}`;
}

/**
 * A TCP proxy in front of the API server that a test can cut: after cut(), open connections are
 * destroyed and new ones are accepted but never answered, as with an API server that hangs.
 */
export interface CuttableApiServer {
  apis: KubeApis;
  cut(): void;
  close(): Promise<void>;
}

export async function cuttableApiServer(cluster: KubeCluster): Promise<CuttableApiServer> {
  const target = new URL(cluster.server);
  const sockets = new Set<net.Socket>();
  let cut = false;
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => undefined);
    if (cut) return; // hold the connection open, say nothing
    const upstream = net.connect(Number(target.port), target.hostname);
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.on('error', () => client.destroy());
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const text = readFileSync(cluster.kubeconfig, 'utf8').replace(cluster.server, `https://127.0.0.1:${port}`);
  const config = new KubeConfig();
  config.loadFromString(text);
  return {
    apis: createKubeApis(config),
    cut() {
      cut = true;
      for (const socket of sockets) socket.destroy();
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
