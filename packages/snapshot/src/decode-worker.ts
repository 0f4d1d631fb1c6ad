// Worker-thread entry of SnapshotDecoder: gunzip, JSON.parse and schema validation of a payload,
// run here so a 10,000-route snapshot does not hold the data plane's event loop while it decodes.
import { parentPort } from 'node:worker_threads';
import { decodeSnapshot } from './codec.ts';

export interface DecodeRequest {
  id: number;
  bytes: Uint8Array;
  encoding: string;
}

/** `json`: the validated snapshot re-serialized, so the main thread pays one JSON.parse only. */
export type DecodeReply = { id: number; ok: true; json: string } | { id: number; ok: false; message: string };

parentPort?.on('message', (request: DecodeRequest) => {
  let reply: DecodeReply;
  try {
    const snapshot = decodeSnapshot(request.bytes, request.encoding);
    reply = { id: request.id, ok: true, json: JSON.stringify(snapshot) };
  } catch (error) {
    reply = { id: request.id, ok: false, message: error instanceof Error ? error.message : String(error) };
  }
  parentPort?.postMessage(reply);
});
