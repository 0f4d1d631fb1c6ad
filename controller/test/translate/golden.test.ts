// Golden files: testdata/<case>.in.yaml (objects) → <case>.out.yaml ({ snapshot, statuses }).
// The outputs are the translator's spec, reviewed in diffs. Regenerate them with
// `UPDATE_GOLDEN=1 scripts/toolchain.sh pnpm test controller/test/translate`
// (or `pnpm --filter @tollgate/controller golden:update`).
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Condition } from '@tollgate/api';
import { Snapshot } from '@tollgate/snapshot';
import { translate } from '../../src/translate/index.ts';
import { loadObjects, toYaml } from './support.ts';

const testdata = path.join(import.meta.dirname, 'testdata');
const update = process.env.UPDATE_GOLDEN === '1';
const cases = readdirSync(testdata)
  .filter((file) => file.endsWith('.in.yaml'))
  .map((file) => file.slice(0, -'.in.yaml'.length))
  .sort();

test('there are golden cases', () => {
  expect(cases.length).toBeGreaterThanOrEqual(30);
});

describe.each(cases)('%s', (name) => {
  const objects = loadObjects(path.join(testdata, `${name}.in.yaml`));
  const result = translate(objects);
  const outFile = path.join(testdata, `${name}.out.yaml`);

  test('matches the golden output', () => {
    const actual = toYaml(result);
    if (update) writeFileSync(outFile, actual);
    if (!existsSync(outFile))
      throw new Error(`${outFile} is missing: run with UPDATE_GOLDEN=1 and review it`);
    expect(actual).toBe(readFileSync(outFile, 'utf8'));
  });

  test('produces a snapshot and conditions that pass their schemas', () => {
    expect(() => Snapshot.parse(result.snapshot)).not.toThrow();
    for (const status of result.statuses) {
      for (const condition of status.conditions) expect(() => Condition.parse(condition)).not.toThrow();
      expect(status.conditions.map((c) => c.type)).toEqual(['Accepted', 'ResolvedRefs']);
    }
  });

  test('gives the same output for the objects in reverse order', () => {
    expect(toYaml(translate([...objects].reverse()))).toBe(toYaml(result));
  });
});
