// The snapshot payload on the wire: the IR as JSON, gzip-compressed. JSON keeps the IR's zod
// schemas the single definition of its shape (protobuf carries only the envelope); gzip shrinks
// the repetitive JSON of large route tables roughly tenfold.
import { gunzipSync, gzipSync } from 'node:zlib';
import { z } from 'zod';
import { Snapshot } from './ir.ts';

export const SNAPSHOT_ENCODING = 'application/json+gzip';

/**
 * Bound on the decompressed payload, so a corrupt or hostile payload cannot exhaust memory.
 * Far above what 10,000 routes need (tens of MiB of JSON).
 */
export const MAX_DECODED_SNAPSHOT_BYTES = 512 * 1024 * 1024;

export const SNAPSHOT_DECODE_ERROR_CODE = 'TG_ERR_SNAPSHOT_INVALID';

/** A payload that does not decode to a valid snapshot; the message says what is wrong. */
export class SnapshotDecodeError extends Error {
  readonly code = SNAPSHOT_DECODE_ERROR_CODE;
  override name = 'SnapshotDecodeError';
}

export function encodeSnapshot(snapshot: Snapshot): Uint8Array {
  return gzipSync(JSON.stringify(snapshot));
}

/** Decompresses, parses and validates a payload; throws SnapshotDecodeError on any problem. */
export function decodeSnapshot(bytes: Uint8Array, encoding: string): Snapshot {
  if (encoding !== SNAPSHOT_ENCODING) {
    throw new SnapshotDecodeError(
      `unsupported snapshot encoding ${JSON.stringify(encoding)} (expected ${JSON.stringify(SNAPSHOT_ENCODING)})`,
    );
  }
  let json: string;
  try {
    json = gunzipSync(bytes, { maxOutputLength: MAX_DECODED_SNAPSHOT_BYTES }).toString('utf8');
  } catch (error) {
    throw new SnapshotDecodeError(`snapshot payload is not valid gzip: ${messageOf(error)}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new SnapshotDecodeError(`snapshot payload is not valid JSON: ${messageOf(error)}`);
  }
  const parsed = Snapshot.safeParse(value);
  if (!parsed.success) {
    throw new SnapshotDecodeError(`snapshot failed validation:\n${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
