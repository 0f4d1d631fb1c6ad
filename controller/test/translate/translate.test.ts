// Properties of translate() as a whole: order independence, determinism, purity of the output.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { translate } from '../../src/translate/index.ts';
import { loadObjects, toYaml } from './support.ts';

const testdata = path.join(import.meta.dirname, 'testdata');
/** Every golden input at once: many namespaces, duplicates and conflicts across files. */
const everything = readdirSync(testdata)
  .filter((file) => file.endsWith('.in.yaml'))
  .sort()
  .flatMap((file) => loadObjects(path.join(testdata, file)));

/** Deterministic Fisher–Yates (mulberry32), so a failure names the seed that reproduces it. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  let state = seed;
  const random = () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe('translate', () => {
  const reference = translate(everything);

  test('the combined input exercises every kind of outcome', () => {
    const reasons = new Set(reference.statuses.flatMap((s) => s.conditions.map((c) => c.reason)));
    for (const reason of [
      'Accepted',
      'Duplicate',
      'Conflicted',
      'Invalid',
      'BackendNotFound',
      'UnresolvedRefs',
    ]) {
      expect(reasons).toContain(reason);
    }
  });

  test.each([1, 2, 3, 4, 5, 6, 7, 8])(
    'gives byte-identical output for the input shuffled with seed %i',
    (seed) => {
      const result = translate(shuffled(everything, seed));
      expect(result.snapshot.version).toBe(reference.snapshot.version);
      expect(toYaml(result)).toBe(toYaml(reference));
    },
  );

  test('gives the same version when run twice on the same input', () => {
    expect(translate(everything).snapshot.version).toBe(reference.snapshot.version);
    expect(JSON.stringify(translate(everything))).toBe(JSON.stringify(reference));
  });

  test('does not modify its input', () => {
    const before = JSON.stringify(everything);
    translate(everything);
    expect(JSON.stringify(everything)).toBe(before);
  });

  test('emits no undefined values (the snapshot survives a JSON round trip unchanged)', () => {
    expect(JSON.parse(JSON.stringify(reference))).toStrictEqual(reference);
  });

  test('a changed object changes the version; an unchanged set keeps it', () => {
    const route = {
      apiVersion: 'tollgate.dev/v1alpha1',
      kind: 'Route',
      metadata: { name: 'r', namespace: 'default' },
      spec: { rules: [{ backendRefs: [{ url: 'http://127.0.0.1:9000' }] }] },
    };
    const changed = structuredClone(route);
    changed.spec.rules[0]!.backendRefs[0]!.url = 'http://127.0.0.1:9001';
    expect(translate([route]).snapshot.version).toBe(translate([structuredClone(route)]).snapshot.version);
    expect(translate([changed]).snapshot.version).not.toBe(translate([route]).snapshot.version);
  });

  test('an empty object set gives an empty snapshot and no statuses', () => {
    const { snapshot, statuses } = translate([]);
    expect(snapshot).toMatchObject({
      virtualHosts: [],
      clusters: [],
      aiProviders: [],
      consumers: [],
      policies: [],
    });
    expect(snapshot.version).toMatch(/^[0-9a-f]{16}$/);
    expect(statuses).toEqual([]);
  });

  test('ignores values that are not objects', () => {
    expect(translate([null, 42, 'Route', [], { kind: 'Route' }]).statuses).toEqual([]);
  });

  test('lists statuses sorted by kind, namespace and name', () => {
    const keys = reference.statuses.map((s) => [s.ref.kind, s.ref.namespace, s.ref.name]);
    const sorted = [...keys].sort((a, b) => {
      for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
      return 0;
    });
    expect(keys).toEqual(sorted);
  });
});
