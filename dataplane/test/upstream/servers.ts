// Loopback HTTP servers for the resilience tests that can be stopped and started again on the
// same port (an upstream that dies and comes back).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

export interface RestartableServer {
  readonly name: string;
  readonly port: number;
  /** Requests answered since start (health probes excluded). */
  hits: number;
  bodies: string[];
  handler: Handler;
  stop(): Promise<void>;
  start(): Promise<void>;
}

const answerName =
  (name: string): Handler =>
  (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'x-upstream': name });
    res.end(name);
  };

export async function startServer(name: string, handler?: Handler, port = 0): Promise<RestartableServer> {
  let server: Server | undefined;
  const state: RestartableServer = {
    name,
    port,
    hits: 0,
    bodies: [],
    handler: handler ?? answerName(name),
    async stop() {
      const s = server;
      server = undefined;
      if (!s) return;
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    },
    async start() {
      const s = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          if (req.headers['user-agent'] !== 'tollgate-health-check') {
            state.hits++;
            state.bodies.push(body);
          }
          state.handler(req, res, body);
        });
      });
      await new Promise<void>((resolve) => s.listen(state.port, '127.0.0.1', resolve));
      (state as { port: number }).port = (s.address() as AddressInfo).port;
      server = s;
    },
  };
  await state.start();
  return state;
}

/** The default answer: 200 with the server's name. */
export function answer(name: string): Handler {
  return answerName(name);
}
