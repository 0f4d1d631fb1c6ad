// The object set as the translator sees it: recognised kinds only, every object parsed once,
// namespaces defaulted, duplicates collapsed to one deterministic copy, and lookups by name.
import {
  type AnyObject,
  type EndpointSlice,
  isObjectKind,
  type ObjectKind,
  type ObjectOfKind,
  objectKey,
  parseObject,
  type TollgateKind,
} from '@tollgate/api';
import { canonicalJson } from '@tollgate/snapshot';
import { compareAge, parseTimestamp } from './order.ts';

/** Who an object is, read from its raw metadata (so invalid objects can still get a status). */
export interface ObjectIdentity {
  kind: ObjectKind;
  namespace: string;
  name: string;
  generation?: number;
  /** creationTimestamp in ms since the epoch; undefined when absent or unreadable. */
  createdMs?: number;
}

/** One object after duplicate resolution: the copy in use, or why that copy is invalid. */
export interface IndexedObject<K extends ObjectKind = ObjectKind> {
  identity: ObjectIdentity;
  /** The parsed copy; undefined when the copy in use does not pass the schema. */
  object: ObjectOfKind<K> | undefined;
  /** Schema errors of the copy in use (field path: problem; …). */
  invalid?: string;
  /** How many other copies with the same kind/namespace/name were ignored. */
  ignoredCopies: number;
}

const TOLLGATE_GROUP = 'tollgate.dev';

/** The API group each recognised kind must carry; anything else (say, another project's "Route") is ignored. */
const GROUP_OF_KIND: Record<ObjectKind, string> = {
  Route: TOLLGATE_GROUP,
  AIProvider: TOLLGATE_GROUP,
  Consumer: TOLLGATE_GROUP,
  Policy: TOLLGATE_GROUP,
  Secret: '',
  Service: '',
  EndpointSlice: 'discovery.k8s.io',
};

export const DEFAULT_NAMESPACE = 'default';
const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function groupOf(apiVersion: unknown): string | undefined {
  if (typeof apiVersion !== 'string') return undefined;
  const slash = apiVersion.indexOf('/');
  return slash === -1 ? '' : apiVersion.slice(0, slash);
}

/** Reads kind/namespace/name; undefined for objects the translator does not handle. */
export function identify(raw: unknown): ObjectIdentity | undefined {
  if (!isRecord(raw) || typeof raw.kind !== 'string' || !isObjectKind(raw.kind)) return undefined;
  if (groupOf(raw.apiVersion) !== GROUP_OF_KIND[raw.kind]) return undefined;
  const metadata = raw.metadata;
  if (!isRecord(metadata) || typeof metadata.name !== 'string' || metadata.name === '') return undefined;
  const namespace =
    typeof metadata.namespace === 'string' && metadata.namespace !== ''
      ? metadata.namespace
      : DEFAULT_NAMESPACE;
  const identity: ObjectIdentity = { kind: raw.kind, namespace, name: metadata.name };
  if (typeof metadata.generation === 'number' && Number.isInteger(metadata.generation)) {
    identity.generation = metadata.generation;
  }
  const createdMs = parseTimestamp(metadata.creationTimestamp);
  if (createdMs !== undefined) identity.createdMs = createdMs;
  return identity;
}

interface Copy {
  identity: ObjectIdentity;
  /** Without `status`; its canonical JSON breaks ties between duplicates (computed only for them). */
  raw: Record<string, unknown>;
  parsed: { ok: true; object: AnyObject } | { ok: false; message: string };
}

function parseCopy(raw: Record<string, unknown>, identity: ObjectIdentity): Copy {
  // Status is ours to write, not the user's to get right: an old or foreign status never
  // invalidates the spec.
  const { status: _status, ...withoutStatus } = raw;
  const parsed = parseObject(withoutStatus);
  if (parsed.ok) parsed.object.metadata.namespace = identity.namespace;
  return { identity, raw: withoutStatus, parsed };
}

/**
 * Which copy of a duplicated object is used: a valid copy over an invalid one, then the oldest
 * creationTimestamp (copies without one last), then the smallest canonical JSON. Input order
 * never matters.
 */
function compareCopies(a: Copy, b: Copy): number {
  if (a.parsed.ok !== b.parsed.ok) return a.parsed.ok ? -1 : 1;
  const age = compareAge(a.identity.createdMs, b.identity.createdMs);
  if (age !== 0) return age;
  const x = canonicalJson(a.raw);
  const y = canonicalJson(b.raw);
  return x < y ? -1 : x > y ? 1 : 0;
}

export class ObjectIndex {
  readonly #byKey = new Map<string, IndexedObject>();
  readonly #slicesByService = new Map<string, EndpointSlice[]>();

  constructor(objects: readonly unknown[]) {
    const copies = new Map<string, Copy[]>();
    for (const raw of objects) {
      const identity = identify(raw);
      if (!identity) continue;
      const key = objectKey(identity);
      const copy = parseCopy(raw as Record<string, unknown>, identity);
      const list = copies.get(key);
      if (list) list.push(copy);
      else copies.set(key, [copy]);
    }
    for (const key of [...copies.keys()].sort()) {
      const list = copies.get(key)!;
      const [chosen, ...ignored] = list.length > 1 ? list.sort(compareCopies) : list;
      const entry: IndexedObject = {
        identity: chosen!.identity,
        object: chosen!.parsed.ok ? chosen!.parsed.object : undefined,
        ignoredCopies: ignored.length,
      };
      if (!chosen!.parsed.ok) entry.invalid = chosen!.parsed.message;
      this.#byKey.set(key, entry);
    }
    for (const entry of this.#byKey.values()) {
      if (entry.identity.kind !== 'EndpointSlice' || !entry.object) continue;
      const slice = entry.object as EndpointSlice;
      const service = slice.metadata.labels?.[SERVICE_NAME_LABEL];
      if (!service) continue;
      const key = `${entry.identity.namespace}/${service}`;
      const list = this.#slicesByService.get(key);
      if (list) list.push(slice);
      else this.#slicesByService.set(key, [slice]);
    }
  }

  /** Every object of a Tollgate kind, valid or not, sorted by namespace/name. */
  all<K extends TollgateKind>(kind: K): IndexedObject<K>[] {
    const out: IndexedObject<K>[] = [];
    for (const entry of this.#byKey.values()) {
      if (entry.identity.kind === kind) out.push(entry as IndexedObject<K>);
    }
    return out;
  }

  get<K extends ObjectKind>(kind: K, namespace: string, name: string): IndexedObject<K> | undefined {
    return this.#byKey.get(objectKey({ kind, namespace, name })) as IndexedObject<K> | undefined;
  }

  /** EndpointSlices labelled for a Service, sorted by name. */
  endpointSlices(namespace: string, service: string): EndpointSlice[] {
    return this.#slicesByService.get(`${namespace}/${service}`) ?? [];
  }
}
