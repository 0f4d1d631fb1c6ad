// Worker-thread entry of SnapshotDecoder: gunzip, JSON.parse and schema validation of a payload,
// run here so a 10,000-route snapshot does not hold the data plane's event loop while it decodes.
import { parentPort } from 'node:worker_threads';
import { decodeSnapshot } from './codec.ts';
import type { Snapshot } from './ir.ts';

export interface DecodeRequest {
  id: number;
  bytes: Uint8Array;
  encoding: string;
}

/**
 * The validated snapshot re-serialized as JSON text, cut in pieces: `head` is the snapshot with
 * every virtual host's routes emptied, and each chunk a JSON array of consecutive routes of one
 * virtual host (in order). The main thread parses piece by piece, yielding in between, so no
 * single parse holds its event loop for long.
 */
export interface DecodedPieces {
  head: string;
  chunks: Array<{ vhost: number; routes: string }>;
}

export type DecodeReply =
  | { id: number; ok: true; pieces: DecodedPieces }
  | { id: number; ok: false; message: string };

/** Routes per chunk: parsing one chunk on the main thread takes about a millisecond. */
export const ROUTES_PER_CHUNK = 250;

export function toPieces(snapshot: Snapshot): DecodedPieces {
  const chunks: DecodedPieces['chunks'] = [];
  snapshot.virtualHosts.forEach((vhost, index) => {
    for (let start = 0; start < vhost.routes.length; start += ROUTES_PER_CHUNK) {
      chunks.push({
        vhost: index,
        routes: JSON.stringify(vhost.routes.slice(start, start + ROUTES_PER_CHUNK)),
      });
    }
  });
  const head = JSON.stringify({
    ...snapshot,
    virtualHosts: snapshot.virtualHosts.map((vhost) => ({ ...vhost, routes: [] })),
  });
  return { head, chunks };
}

parentPort?.on('message', (request: DecodeRequest) => {
  let reply: DecodeReply;
  try {
    const snapshot = decodeSnapshot(request.bytes, request.encoding);
    reply = { id: request.id, ok: true, pieces: toPieces(snapshot) };
  } catch (error) {
    reply = { id: request.id, ok: false, message: error instanceof Error ? error.message : String(error) };
  }
  parentPort?.postMessage(reply);
});
