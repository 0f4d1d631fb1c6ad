// crds/ is generated: it must be exactly what the generator writes, and the generator must be
// deterministic. The CRDs carry the names, columns and subresources kubectl relies on.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { buildCRD, CRD_HEADER, crdDefinitions, generateCRDFiles } from '../src/crd/index.ts';
import { repoRoot } from './helpers.ts';

const crdDir = join(repoRoot, 'crds');
const files = generateCRDFiles();
const hint =
  'crds/ is out of date: run `scripts/toolchain.sh pnpm --filter @tollgate/api generate` and commit the result';

describe('crds/', () => {
  it.each(files.map((file) => [file.fileName, file.content]))(
    'holds %s exactly as generated',
    (fileName, content) => {
      const path = join(crdDir, fileName);
      const actual = existsSync(path) ? readFileSync(path, 'utf8') : `(missing: ${hint})`;
      if (actual !== content) throw new Error(`${fileName} differs from the generator output. ${hint}`);
    },
  );

  it('holds no Tollgate CRD the generator does not write', () => {
    const stale = readdirSync(crdDir).filter(
      (name) => name.startsWith('tollgate.dev_') && !files.some((file) => file.fileName === name),
    );
    expect({ stale, hint }).toEqual({ stale: [], hint });
  });
});

describe('generateCRDFiles', () => {
  it('writes one file per Tollgate kind, named <group>_<plural>.yaml', () => {
    expect(files.map((file) => file.fileName).sort()).toEqual([
      'tollgate.dev_aiproviders.yaml',
      'tollgate.dev_consumers.yaml',
      'tollgate.dev_policies.yaml',
      'tollgate.dev_routes.yaml',
    ]);
  });

  it('produces byte-identical output on every run', () => {
    expect(generateCRDFiles()).toEqual(files);
  });

  it('starts every file with the do-not-edit header', () => {
    for (const file of files) expect(file.content.split('\n')[0]).toBe(CRD_HEADER);
  });

  it('renders YAML that reads back as the CRD it was built from', () => {
    for (const [index, definition] of crdDefinitions.entries()) {
      expect(parse(files[index]?.content ?? '')).toEqual(JSON.parse(JSON.stringify(buildCRD(definition))));
    }
  });

  it('writes keys in sorted order, so diffs stay small', () => {
    const keysInOrder = (value: unknown): boolean => {
      if (Array.isArray(value)) return value.every(keysInOrder);
      if (value === null || typeof value !== 'object') return true;
      const keys = Object.keys(value);
      return keys.join() === [...keys].sort().join() && Object.values(value).every(keysInOrder);
    };
    for (const file of files) expect(keysInOrder(parse(file.content))).toBe(true);
  });
});

describe('CRD metadata', () => {
  const crds = crdDefinitions.map(buildCRD);

  it('declares every kind namespaced, in group tollgate.dev, served and stored as v1alpha1 with a status subresource', () => {
    for (const crd of crds) {
      expect(crd.metadata.name).toBe(`${crd.spec.names.plural}.tollgate.dev`);
      expect(crd.spec.group).toBe('tollgate.dev');
      expect(crd.spec.scope).toBe('Namespaced');
      expect(crd.spec.versions).toHaveLength(1);
      expect(crd.spec.versions[0]).toMatchObject({
        name: 'v1alpha1',
        served: true,
        storage: true,
        subresources: { status: {} },
      });
    }
  });

  it('puts every kind in the tollgate category with short names that do not clash', () => {
    const builtIn = [
      'po',
      'svc',
      'ep',
      'cm',
      'ns',
      'no',
      'pv',
      'pvc',
      'sa',
      'deploy',
      'rs',
      'ds',
      'sts',
      'ing',
      'netpol',
    ];
    const seen = new Set<string>();
    for (const crd of crds) {
      expect(crd.spec.names.categories).toEqual(['tollgate']);
      expect(crd.spec.names.listKind).toBe(`${crd.spec.names.kind}List`);
      for (const shortName of crd.spec.names.shortNames) {
        expect(builtIn).not.toContain(shortName);
        expect(['route', 'routes', 'policy', 'consumer']).not.toContain(shortName);
        expect(seen.has(shortName)).toBe(false);
        seen.add(shortName);
      }
    }
    expect(Object.fromEntries(crds.map((crd) => [crd.spec.names.kind, crd.spec.names.shortNames]))).toEqual({
      Route: ['tgroute', 'tgr'],
      AIProvider: ['aip', 'tgaip'],
      Consumer: ['tgconsumer', 'tgc'],
      Policy: ['tgpolicy', 'tgp'],
    });
  });

  it('shows status conditions and age as printer columns', () => {
    const columns = Object.fromEntries(
      crds.map((crd) => [
        crd.spec.names.kind,
        crd.spec.versions[0]?.additionalPrinterColumns.filter((c) => !c.priority).map((c) => c.name),
      ]),
    );
    expect(columns).toEqual({
      Route: ['Hostnames', 'Accepted', 'Programmed', 'Age'],
      AIProvider: ['Type', 'Accepted', 'Age'],
      Consumer: ['Team', 'Accepted', 'Age'],
      Policy: ['Target Kind', 'Target', 'Accepted', 'Age'],
    });
    const route = crds[0]?.spec.versions[0]?.additionalPrinterColumns;
    expect(route?.find((c) => c.name === 'Programmed')?.jsonPath).toBe(
      '.status.conditions[?(@.type=="Programmed")].status',
    );
  });

  it('points every printer column at a field of the schema', () => {
    for (const crd of crds) {
      const schema = crd.spec.versions[0]?.schema.openAPIV3Schema;
      for (const column of crd.spec.versions[0]?.additionalPrinterColumns ?? []) {
        const fields = column.jsonPath
          .replace(/\[[^\]]*\]/g, '')
          .split('.')
          .slice(1);
        let node = schema;
        for (const field of fields) node = node?.properties?.[field] ?? node?.items?.properties?.[field];
        expect({ column: column.name, found: node !== undefined || fields[0] === 'metadata' }).toEqual({
          column: column.name,
          found: true,
        });
      }
    }
  });
});
