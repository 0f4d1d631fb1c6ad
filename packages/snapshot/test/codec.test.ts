import { gunzipSync, gzipSync } from 'node:zlib';
import {
  decodeSnapshot,
  encodeSnapshot,
  encodeSnapshotJson,
  JSON_SNAPSHOT_ENCODING,
  SNAPSHOT_DECODE_ERROR_CODE,
  SNAPSHOT_ENCODING,
  SnapshotDecodeError,
  SnapshotDecoder,
} from '../src/codec.ts';
import { MAX_CONFIG_MESSAGE_BYTES } from '../src/grpc.ts';
import type { RouteEntryIR, Snapshot } from '../src/ir.ts';
import { sealSnapshot } from '../src/version.ts';
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
    const error = decodeError(() => decodeSnapshot(gzipSync('version: yaml'), JSON_SNAPSHOT_ENCODING));
    expect(error.message).toMatch(/^snapshot payload is not valid JSON/);
  });

  it('rejects JSON that fails the snapshot schema and names the offending field', () => {
    const broken = { ...sampleSnapshot('a'), virtualHosts: [{ hostname: 42, routes: [] }] };
    const error = decodeError(() => decodeSnapshot(gzipSync(JSON.stringify(broken)), JSON_SNAPSHOT_ENCODING));
    expect(error.message).toMatch(/^snapshot failed validation/);
    expect(error.message).toContain('virtualHosts[0].hostname');
  });

  it('rejects a snapshot without a version', () => {
    const { version: _, ...content } = sampleSnapshot('a');
    const error = decodeError(() =>
      decodeSnapshot(gzipSync(JSON.stringify(content)), JSON_SNAPSHOT_ENCODING),
    );
    expect(error.message).toContain('version');
  });
});

describe('line encoding and SnapshotDecoder', () => {
  const withRoutes = (snapshot: Snapshot, routes: RouteEntryIR[]): Snapshot =>
    sealSnapshot({
      ...snapshot,
      virtualHosts: [
        { hostname: 'big.example.com', routes },
        { hostname: 'other.example.com', routes: routes.slice(0, 2) },
      ],
    });

  it('encodes one JSON text per line: header, sections, then every route entry', () => {
    const snapshot = sampleSnapshot('lines');
    const lines = gunzipSync(encodeSnapshot(snapshot)).toString('utf8').split('\n');
    expect(JSON.parse(lines[0]!)).toEqual({
      version: snapshot.version,
      virtualHosts: [{ hostname: 'lines.example.com', routes: 1 }],
    });
    expect(JSON.parse(lines[1]!)).toEqual(snapshot.clusters);
    expect(lines).toHaveLength(7);
    expect(JSON.parse(lines[6]!)).toEqual(snapshot.virtualHosts[0]!.routes[0]);
  });

  it('round-trips through the decoder, which hands unchanged entries and sections back as the same objects', async () => {
    const base = largeSnapshot(50);
    const routes = base.virtualHosts[0]!.routes;
    const first = withRoutes(base, routes);
    const changed = { ...routes[20]!, id: 'default/big/20/changed' };
    const second = withRoutes(base, [...routes.slice(0, 20), changed, ...routes.slice(21), routes[0]!]);
    const decoder = new SnapshotDecoder();
    const a = await decoder.decode(encodeSnapshot(first), SNAPSHOT_ENCODING);
    expect(a).toEqual(first);
    const b = await decoder.decode(encodeSnapshot(second), SNAPSHOT_ENCODING);
    expect(b).toEqual(second);
    const [bigA, otherA] = a.virtualHosts;
    const [bigB, otherB] = b.virtualHosts;
    expect(b.clusters).toBe(a.clusters);
    expect(bigB!.routes[0]).toBe(bigA!.routes[0]);
    expect(bigB!.routes[19]).toBe(bigA!.routes[19]);
    expect(bigB!.routes[20]).not.toBe(bigA!.routes[20]);
    expect(bigB!.routes[21]).toBe(bigA!.routes[21]);
    // Only lines between the unchanged head and tail are looked up; one that moved out of the head
    // is decoded again (equal, not the same object).
    expect(bigB!.routes[50]).toEqual(bigA!.routes[0]);
    expect(otherB!.routes[1]).toBe(otherA!.routes[1]);
  });

  it('decodes entries that moved, were removed or were added between payloads', async () => {
    const routes = largeSnapshot(30).virtualHosts[0]!.routes;
    const decoder = new SnapshotDecoder({ sliceMs: 0 });
    const base = largeSnapshot(0);
    const a = await decoder.decode(encodeSnapshot(withRoutes(base, routes)), SNAPSHOT_ENCODING);
    const shuffled = [
      ...routes.slice(15),
      ...routes.slice(3, 10),
      ...largeSnapshot(2).virtualHosts[0]!.routes,
    ];
    const expected = withRoutes(base, shuffled);
    const b = await decoder.decode(encodeSnapshot(expected), SNAPSHOT_ENCODING);
    expect(b).toEqual(expected);
    expect(b.virtualHosts[0]!.routes[15]).toBe(a.virtualHosts[0]!.routes[3]);
    const empty = withRoutes(base, []);
    expect(await decoder.decode(encodeSnapshot(empty), SNAPSHOT_ENCODING)).toEqual(empty);
  });

  it('rejects a bad entry with its place in the snapshot, and keeps comparing with the last good payload', async () => {
    const decoder = new SnapshotDecoder();
    const good = sampleSnapshot('a');
    const first = await decoder.decode(encodeSnapshot(good), SNAPSHOT_ENCODING);
    const route = good.virtualHosts[0]!.routes[0]!;
    const broken = {
      ...good,
      virtualHosts: [{ hostname: 'a.example.com', routes: [route, { ...route, id: 7 }] }],
    };
    const error = await decoder.decode(encodeSnapshot(broken as unknown as Snapshot), SNAPSHOT_ENCODING).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SnapshotDecodeError);
    expect((error as Error).message).toMatch(/^snapshot failed validation/);
    expect((error as Error).message).toContain('virtualHosts[0].routes[1].id');
    const again = await decoder.decode(encodeSnapshot(good), SNAPSHOT_ENCODING);
    expect(again.virtualHosts[0]!.routes[0]).toBe(first.virtualHosts[0]!.routes[0]);
  });

  it('rejects a payload whose entry count differs from its header, and an unknown encoding', async () => {
    const text = gunzipSync(encodeSnapshot(sampleSnapshot('a'))).toString('utf8');
    const error = decodeError(() =>
      decodeSnapshot(gzipSync(`${text}\n${text.split('\n')[6]}`), SNAPSHOT_ENCODING),
    );
    expect(error.message).toContain('holds 2 route entries but its header announces 1');
    await expect(
      new SnapshotDecoder().decode(encodeSnapshot(sampleSnapshot('a')), 'application/json'),
    ).rejects.toThrow('unsupported snapshot encoding "application/json"');
  });

  it('rejects bytes that are not gzip, or a truncated payload, with a decode error', async () => {
    const decoder = new SnapshotDecoder();
    await expect(
      decoder.decode(new TextEncoder().encode('{"not":"gzip"}'), SNAPSHOT_ENCODING),
    ).rejects.toThrow(/^snapshot payload is not valid gzip/);
    const bytes = encodeSnapshot(largeSnapshot(20));
    await expect(decoder.decode(bytes.subarray(0, bytes.byteLength / 2), SNAPSHOT_ENCODING)).rejects.toThrow(
      SnapshotDecodeError,
    );
    expect((await decoder.decode(bytes, SNAPSHOT_ENCODING)).virtualHosts[0]!.routes).toHaveLength(20);
  });

  it('still decodes the one-document JSON encoding', async () => {
    const snapshot = sampleSnapshot('json');
    expect(decodeSnapshot(encodeSnapshotJson(snapshot), JSON_SNAPSHOT_ENCODING)).toEqual(snapshot);
    expect(await new SnapshotDecoder().decode(encodeSnapshotJson(snapshot), JSON_SNAPSHOT_ENCODING)).toEqual(
      snapshot,
    );
  });
});
