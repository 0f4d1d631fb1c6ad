// An upstream that lives behind a real, routable, non-loopback address: a network namespace the
// test creates, joined to the host by a veth pair on a /30 from 198.18.0.0/15 (set aside for
// network tests). The API server refuses loopback addresses in EndpointSlices (IPv4, IPv6) and
// names with fewer than two labels (FQDN "localhost"), so a Service backend needs an address like
// this one. Needs root and iproute2; everything is removed on close() and at process exit.
import { execFileSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import path from 'node:path';
import { type StartedProcess, startProcess } from '@tollgate/testkit';

export interface NetnsUpstream {
  name: string;
  /** The upstream's address inside the namespace. */
  address: string;
  port: number;
  url: string;
  close(): Promise<void>;
}

const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8', stdio: 'pipe' });
const live = new Set<() => void>();
process.on('exit', () => {
  for (const cleanup of live) cleanup();
});

function freeSubnet(): { host: string; inside: string } {
  const inUse = ip('-4', '-o', 'addr', 'show');
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = `198.${18 + randomInt(2)}.${randomInt(256)}`;
    const last = randomInt(64) * 4;
    const host = `${base}.${last + 1}`;
    const inside = `${base}.${last + 2}`;
    if (!inUse.includes(`${base}.${last + 1}/`) && !inUse.includes(`${base}.${last + 2}/`))
      return { host, inside };
  }
  throw new Error('no free /30 in 198.18.0.0/15');
}

export async function startNetnsUpstream(name: string, port = 8080): Promise<NetnsUpstream> {
  const id = randomBytes(3).toString('hex');
  const namespace = `tollgate-e2e-${id}`;
  const hostSide = `tgh${id}`;
  const inside = `tgn${id}`;
  const cleanup = (): void => {
    for (const args of [
      ['link', 'del', hostSide],
      ['netns', 'del', namespace],
    ]) {
      try {
        ip(...args);
      } catch {
        // already gone
      }
    }
  };
  live.add(cleanup);
  let server: StartedProcess | undefined;
  try {
    const subnet = freeSubnet();
    ip('netns', 'add', namespace);
    ip('link', 'add', hostSide, 'type', 'veth', 'peer', 'name', inside);
    ip('link', 'set', inside, 'netns', namespace);
    ip('addr', 'add', `${subnet.host}/30`, 'dev', hostSide);
    ip('link', 'set', hostSide, 'up');
    ip('netns', 'exec', namespace, 'ip', 'addr', 'add', `${subnet.inside}/30`, 'dev', inside);
    ip('netns', 'exec', namespace, 'ip', 'link', 'set', inside, 'up');
    ip('netns', 'exec', namespace, 'ip', 'link', 'set', 'lo', 'up');
    const listen = `${subnet.inside}:${port}`;
    server = startProcess(
      'ip',
      [
        'netns',
        'exec',
        namespace,
        process.execPath,
        path.join(import.meta.dirname, 'netns-echo-server.ts'),
        name,
        listen,
      ],
      { name: `upstream ${name}` },
    );
    await server.waitForOutput(/listening on/);
    const started = server;
    return {
      name,
      address: subnet.inside,
      port,
      url: `http://${listen}`,
      close: async () => {
        await started.stop();
        cleanup();
        live.delete(cleanup);
      },
    };
  } catch (error) {
    await server?.stop('SIGKILL');
    cleanup();
    live.delete(cleanup);
    const why = (error as { stderr?: string }).stderr || (error as Error).message;
    throw new Error(
      `cannot create a network namespace for upstream ${name} (root and iproute2 needed): ${why}`,
    );
  }
}

/**
 * What a Deployment and its Service would put in the API server for `upstream`: the Service (port
 * 8080 in the default namespace) and its EndpointSlice, as YAML for `kubectl apply`.
 */
export function serviceYaml(name: string, upstream: NetnsUpstream): string {
  return `
apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: default }
spec:
  ports: [{ name: http, port: 8080, targetPort: ${upstream.port} }]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: ${name}-1
  namespace: default
  labels: { kubernetes.io/service-name: ${name} }
addressType: IPv4
endpoints: [{ addresses: ["${upstream.address}"], conditions: { ready: true } }]
ports: [{ name: http, port: ${upstream.port}, protocol: TCP }]
`;
}
