import { gzipSync } from 'node:zlib';
import {
  decodeSnapshot,
  encodeSnapshot,
  SNAPSHOT_DECODE_ERROR_CODE,
  SNAPSHOT_ENCODING,
  SnapshotDecodeError,
} from '../src/codec.ts';
import { MAX_CONFIG_MESSAGE_BYTES } from '../src/grpc.ts';
import { largeSnapshot, sampleSnapshot } from './support/snapshots.ts';

function decodeError(run: () => unknown): SnapshotDecodeError {
  try {
    run();
  } catch (error) {
    if (error instanceof SnapshotDecodeError) return error;
    throw error;
  }
  throw new Error('expected decodeSnapshot to throw');
}

describe('snapshot codec', () => {
  it('round-trips a snapshot unchanged', () => {
    const snapshot = sampleSnapshot('shop');
    expect(decodeSnapshot(encodeSnapshot(snapshot), SNAPSHOT_ENCODING)).toEqual(snapshot);
  });

  it('round-trips a 10,000-route snapshot that is larger than 4 MiB compressed but fits the raised limit', () => {
    const snapshot = largeSnapshot(10_000);
    const bytes = encodeSnapshot(snapshot);
    expect(bytes.byteLength).toBeGreaterThan(4 * 1024 * 1024);
    expect(bytes.byteLength).toBeLessThan(MAX_CONFIG_MESSAGE_BYTES);
    expect(decodeSnapshot(bytes, SNAPSHOT_ENCODING).virtualHosts[0]?.routes).toHaveLength(10_000);
  });

  it('rejects an unknown encoding and names it', () => {
    const error = decodeError(() =>
      decodeSnapshot(encodeSnapshot(sampleSnapshot('a')), 'application/x-protobuf'),
    );
    expect(error.code).toBe(SNAPSHOT_DECODE_ERROR_CODE);
    expect(error.message).toContain('unsupported snapshot encoding "application/x-protobuf"');
  });

  it('rejects bytes that are not gzip', () => {
    const error = decodeError(() =>
      decodeSnapshot(new TextEncoder().encode('{"not":"gzip"}'), SNAPSHOT_ENCODING),
    );
    expect(error.message).toMatch(/^snapshot payload is not valid gzip/);
  });

  it('rejects gzip that does not hold JSON', () => {
    const error = decodeError(() => decodeSnapshot(gzipSync('version: yaml'), SNAPSHOT_ENCODING));
    expect(error.message).toMatch(/^snapshot payload is not valid JSON/);
  });

  it('rejects JSON that fails the snapshot schema and names the offending field', () => {
    const broken = { ...sampleSnapshot('a'), virtualHosts: [{ hostname: 42, routes: [] }] };
    const error = decodeError(() => decodeSnapshot(gzipSync(JSON.stringify(broken)), SNAPSHOT_ENCODING));
    expect(error.message).toMatch(/^snapshot failed validation/);
    expect(error.message).toContain('virtualHosts[0].hostname');
  });

  it('rejects a snapshot without a version', () => {
    const { version: _, ...content } = sampleSnapshot('a');
    const error = decodeError(() => decodeSnapshot(gzipSync(JSON.stringify(content)), SNAPSHOT_ENCODING));
    expect(error.message).toContain('version');
  });
});
