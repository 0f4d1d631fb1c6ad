// The chart configurations every check runs over: the defaults, and each values file in
// charts/tollgate/ci/ (one per non-default feature set). A new file there is checked everywhere.
import { readdirSync } from 'node:fs';
import { scenarioValuesDir } from './helm.ts';

export interface ChartScenario {
  /** "defaults", or the values file's name without "-values.yaml". */
  name: string;
  valuesFiles: string[];
}

export function chartScenarios(): ChartScenario[] {
  const files = readdirSync(scenarioValuesDir)
    .filter((f) => f.endsWith('-values.yaml'))
    .sort();
  return [
    { name: 'defaults', valuesFiles: [] },
    ...files.map((f) => ({ name: f.replace(/-values\.yaml$/, ''), valuesFiles: [f] })),
  ];
}
