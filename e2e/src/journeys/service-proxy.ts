// A Service's virtual IP, the way kube-proxy makes it, for processes on loopback: each new TCP
// connection goes to one of the ready endpoints (round robin) and stays on it. A connection opened
// before its endpoint left the list stays where it is (conntrack keeps it); new ones never go there.
// With no endpoint, a connection is refused (reset), as kube-proxy rejects a Service without one.

import type { AddressInfo } from 'node:net';
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface ServiceProxy {
  /** The "ClusterIP:port" clients dial. */
  readonly port: number;
  readonly address: string;
  /** Replaces the ready endpoints (ports on 127.0.0.1), as an EndpointSlice update does. */
  setEndpoints(ports: number[]): void;
  /** How many connections each endpoint port was given so far. */
  readonly connectionsTo: ReadonlyMap<number, number>;
  close(): Promise<void>;
}

export async function startServiceProxy(endpoints: number[] = []): Promise<ServiceProxy> {
  let ready = [...endpoints];
  let next = 0;
  const given = new Map<number, number>();
  const open = new Set<Socket>();
  const track = (socket: Socket): void => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
  };
  const server: Server = createServer((client) => {
    track(client);
    const target = ready.length > 0 ? ready[next++ % ready.length] : undefined;
    if (target === undefined) {
      client.resetAndDestroy();
      return;
    }
    given.set(target, (given.get(target) ?? 0) + 1);
    const backend = connect({ host: '127.0.0.1', port: target });
    track(backend);
    // Bytes and half-closes pass through both ways; a reset on one side resets the other.
    client.pipe(backend);
    backend.pipe(client);
    client.on('error', () => backend.destroy());
    backend.on('error', () => client.resetAndDestroy());
    client.on('close', () => backend.destroy());
    backend.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    address: `127.0.0.1:${port}`,
    setEndpoints: (ports) => {
      ready = [...ports];
    },
    connectionsTo: given,
    close: async () => {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
