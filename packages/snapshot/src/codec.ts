// The snapshot payload on the wire: the IR as JSON, gzip-compressed. JSON keeps the IR's zod
// schemas the single definition of its shape (protobuf carries only the envelope); gzip shrinks
// the repetitive JSON of large route tables roughly tenfold.
//
// SNAPSHOT_ENCODING writes one JSON text per line: a header (version, virtual hosts with their
// entry counts), then each top-level section (clusters, AI providers, consumers, policies, TLS),
// then every route entry in order. The protocol stays state-of-the-world (the whole snapshot every
// time), but a SnapshotDecoder compares each line with the previous snapshot's and parses and
// validates only the lines it has not seen; an unchanged line yields the very same object as
// before, which lets the data plane keep what it compiled from it. JSON_SNAPSHOT_ENCODING (one
// JSON document) is still decoded.
import { StringDecoder } from 'node:string_decoder';
import { promisify } from 'node:util';
import { createGunzip, gunzip, gunzipSync, gzipSync } from 'node:zlib';
import { z } from 'zod';
import { type RouteEntryIR, RouteEntryIR as RouteEntrySchema, Snapshot, SnapshotContent } from './ir.ts';
import { runInSlices, runToEnd, SliceClock } from './slices.ts';

export const SNAPSHOT_ENCODING = 'application/vnd.tollgate.snapshot.lines+gzip';
/** The whole snapshot as one JSON document (what controllers sent before SNAPSHOT_ENCODING). */
export const JSON_SNAPSHOT_ENCODING = 'application/json+gzip';

const ENCODINGS = [SNAPSHOT_ENCODING, JSON_SNAPSHOT_ENCODING];

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

/** The top-level sections after the header line, in payload order. */
const SECTIONS = ['clusters', 'aiProviders', 'consumers', 'policies', 'tls'] as const;
type SectionName = (typeof SECTIONS)[number];
const SECTION_SCHEMAS: Record<SectionName, z.ZodType> = {
  clusters: SnapshotContent.shape.clusters,
  aiProviders: SnapshotContent.shape.aiProviders,
  consumers: SnapshotContent.shape.consumers,
  policies: SnapshotContent.shape.policies,
  tls: SnapshotContent.shape.tls.nullable(),
};
const FIRST_ENTRY_LINE = 1 + SECTIONS.length;

const Header = z.object({
  version: z.string(),
  virtualHosts: z.array(z.object({ hostname: z.string(), routes: z.number().int().min(0) })),
});

/** Encodes in SNAPSHOT_ENCODING. JSON never holds a raw newline, so each line is one JSON text. */
export function encodeSnapshot(snapshot: Snapshot): Uint8Array {
  const header = {
    version: snapshot.version,
    virtualHosts: snapshot.virtualHosts.map((vhost) => ({
      hostname: vhost.hostname,
      routes: vhost.routes.length,
    })),
  };
  const lines = [JSON.stringify(header)];
  for (const name of SECTIONS) lines.push(JSON.stringify(snapshot[name] ?? null));
  for (const vhost of snapshot.virtualHosts)
    for (const entry of vhost.routes) lines.push(JSON.stringify(entry));
  return gzipSync(lines.join('\n'));
}

/** Encodes in JSON_SNAPSHOT_ENCODING (one JSON document). */
export function encodeSnapshotJson(snapshot: Snapshot): Uint8Array {
  return gzipSync(JSON.stringify(snapshot));
}

/** Decompresses, parses and validates a payload; throws SnapshotDecodeError on any problem. */
export function decodeSnapshot(bytes: Uint8Array, encoding: string): Snapshot {
  checkEncoding(encoding);
  let text: string;
  try {
    text = gunzipSync(bytes, { maxOutputLength: MAX_DECODED_SNAPSHOT_BYTES }).toString('utf8');
  } catch (error) {
    throw new SnapshotDecodeError(`snapshot payload is not valid gzip: ${messageOf(error)}`);
  }
  if (encoding === JSON_SNAPSHOT_ENCODING) return parseJsonDocument(text);
  return runToEnd(decodeLines(text.split('\n'))).snapshot;
}

const gunzipAsync = promisify(gunzip);

/**
 * Decompresses on the libuv pool and splits into lines chunk by chunk as the output arrives, so
 * no single step handles the whole decompressed text.
 */
function gunzipLines(bytes: Uint8Array): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const lines: string[] = [];
    const text = new StringDecoder('utf8');
    let partial = '';
    let size = 0;
    // Chunks above V8's largest regular object (128 KiB) become strings in large-object space:
    // the lines kept for the next comparison then never get copied by young-generation GCs
    // (64 KiB chunks: ~25 ms of such pauses over 7 swaps at 10,000 routes; 256 KiB: none).
    const stream = createGunzip({ chunkSize: 256 * 1024 });
    stream.on('data', (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > MAX_DECODED_SNAPSHOT_BYTES) {
        stream.destroy(new Error(`decompressed payload larger than ${MAX_DECODED_SNAPSHOT_BYTES} bytes`));
        return;
      }
      const parts = (partial + text.write(chunk)).split('\n');
      partial = parts.pop() ?? '';
      for (const part of parts) lines.push(part);
    });
    stream.on('end', () => {
      lines.push(partial + text.end());
      resolve(lines);
    });
    stream.on('error', reject);
    stream.end(bytes);
  });
}

/**
 * Decodes the payloads of one config stream, reusing what the previous payload already held: a
 * line (a route entry, a section) identical to one of the previous payload's becomes the same
 * object without being parsed or validated again. The work that remains yields to the event loop
 * every few milliseconds, and the payload is decompressed on the libuv pool.
 */
export class SnapshotDecoder {
  #previous: Previous = NOTHING_KNOWN;
  readonly #sliceMs: number;

  /** `sliceMs`: the longest stretch of decoding between two yields to the event loop. */
  constructor(options: { sliceMs?: number } = {}) {
    this.#sliceMs = options.sliceMs ?? 2;
  }

  async decode(bytes: Uint8Array, encoding: string): Promise<Snapshot> {
    checkEncoding(encoding);
    if (encoding === JSON_SNAPSHOT_ENCODING) {
      let text: string;
      try {
        text = (await gunzipAsync(bytes, { maxOutputLength: MAX_DECODED_SNAPSHOT_BYTES })).toString('utf8');
      } catch (error) {
        throw new SnapshotDecodeError(`snapshot payload is not valid gzip: ${messageOf(error)}`);
      }
      this.#previous = NOTHING_KNOWN;
      return parseJsonDocument(text);
    }
    let lines: string[];
    try {
      lines = await gunzipLines(bytes);
    } catch (error) {
      throw new SnapshotDecodeError(`snapshot payload is not valid gzip: ${messageOf(error)}`);
    }
    const { snapshot, previous } = await runInSlices(decodeLines(lines, this.#previous, this.#sliceMs));
    this.#previous = previous;
    return snapshot;
  }
}

/** What one payload decoded to, line by line: the next payload is compared with it. */
interface Previous {
  /** The route-entry lines, in payload order, and the entry each became. */
  entryLines: readonly string[];
  entries: readonly RouteEntryIR[];
  sections: ReadonlyMap<SectionName, { line: string; value: unknown }>;
}

const NOTHING_KNOWN: Previous = { entryLines: [], entries: [], sections: new Map() };

/**
 * Yields whenever it has worked for `sliceMs` without a pause. Most lines of a payload are where
 * they were in the previous one: the unchanged head and tail are found by comparing lines in
 * place, and only the lines between them are looked up by their text (or parsed).
 */
function* decodeLines(
  lines: readonly string[],
  previous: Previous = NOTHING_KNOWN,
  sliceMs = Number.POSITIVE_INFINITY,
): Generator<void, { snapshot: Snapshot; previous: Previous }> {
  const clock = new SliceClock(sliceMs);
  const header = Header.safeParse(parseLine(lines[0] ?? '', () => 'the header'));
  if (!header.success) throw invalid([], header.error);
  const sections = new Map<SectionName, { line: string; value: unknown }>();
  const content: Record<string, unknown> = {};
  SECTIONS.forEach((name, i) => {
    const line = lines[1 + i];
    if (line === undefined) throw new SnapshotDecodeError(`snapshot payload ends before its ${name} line`);
    const known = previous.sections.get(name);
    let value: unknown;
    if (known?.line === line) value = known.value;
    else {
      const parsed = SECTION_SCHEMAS[name].safeParse(parseLine(line, () => name));
      if (!parsed.success) throw invalid([name], parsed.error);
      value = parsed.data;
    }
    sections.set(name, { line, value });
    if (value !== null) content[name] = value;
  });
  const count = lines.length - FIRST_ENTRY_LINE;
  const expected = header.data.virtualHosts.reduce((sum, vhost) => sum + vhost.routes, 0);
  if (count !== expected) {
    throw new SnapshotDecodeError(
      `snapshot payload holds ${count} route entries but its header announces ${expected}`,
    );
  }
  const entryLines = count === 0 ? [] : lines.slice(FIRST_ENTRY_LINE);
  const entries = new Array<RouteEntryIR>(count);
  const old = previous.entryLines;
  // The unchanged head and tail, compared in place.
  let head = 0;
  const shortest = Math.min(count, old.length);
  while (head < shortest && entryLines[head] === old[head]) {
    entries[head] = previous.entries[head]!;
    if (clock.due(head++)) yield;
  }
  let tail = 0;
  while (tail < shortest - head && entryLines[count - 1 - tail] === old[old.length - 1 - tail]) {
    entries[count - 1 - tail] = previous.entries[old.length - 1 - tail]!;
    if (clock.due(tail++)) yield;
  }
  // The lines in between: looked up among the previous payload's lines in between, else parsed.
  const known = new Map<string, RouteEntryIR>();
  for (let i = head; i < old.length - tail; i++) known.set(old[i]!, previous.entries[i]!);
  const pathOf = entryPaths(header.data.virtualHosts);
  for (let i = head; i < count - tail; i++) {
    const line = entryLines[i]!;
    let entry = known.get(line);
    if (!entry) {
      const parsed = RouteEntrySchema.safeParse(parseLine(line, () => formatPath(pathOf(i))));
      if (!parsed.success) throw invalid(pathOf(i), parsed.error);
      entry = parsed.data;
      known.set(line, entry);
    }
    entries[i] = entry;
    // Each line here may be parsed and validated: worth a look at the clock every time.
    if (clock.dueNow()) yield;
  }
  let next = 0;
  const virtualHosts = header.data.virtualHosts.map((vhost) => {
    const routes = entries.slice(next, next + vhost.routes);
    next += vhost.routes;
    return { hostname: vhost.hostname, routes };
  });
  const snapshot = { virtualHosts, ...content, version: header.data.version } as Snapshot;
  return { snapshot, previous: { entryLines, entries, sections } };
}

/** The path of the payload's i-th route entry in the snapshot, for error messages (a linear search). */
function entryPaths(hosts: ReadonlyArray<{ routes: number }>): (i: number) => Array<string | number> {
  return (i) => {
    let start = 0;
    for (const [h, host] of hosts.entries()) {
      if (i < start + host.routes) return ['virtualHosts', h, 'routes', i - start];
      start += host.routes;
    }
    return [`route entry ${i}`];
  };
}

/** "virtualHosts[0].routes[3]" */
function formatPath(path: ReadonlyArray<string | number>): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

/** `what` names the line in the error message; computed only when the line is not JSON. */
function parseLine(line: string, what: () => string): unknown {
  try {
    return JSON.parse(line);
  } catch (error) {
    throw new SnapshotDecodeError(`snapshot payload is not valid JSON (${what()}): ${messageOf(error)}`);
  }
}

/** The problems of one line, with paths from the snapshot's root ("virtualHosts[0].routes[3].id"). */
function invalid(root: ReadonlyArray<string | number>, error: z.ZodError): SnapshotDecodeError {
  const issues = error.issues.map((issue) => ({ ...issue, path: [...root, ...issue.path] }));
  return new SnapshotDecodeError(`snapshot failed validation:\n${z.prettifyError(new z.ZodError(issues))}`);
}

function parseJsonDocument(json: string): Snapshot {
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

function checkEncoding(encoding: string): void {
  if (!ENCODINGS.includes(encoding)) {
    throw new SnapshotDecodeError(
      `unsupported snapshot encoding ${JSON.stringify(encoding)} (expected one of ${ENCODINGS.map((e) => JSON.stringify(e)).join(', ')})`,
    );
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
