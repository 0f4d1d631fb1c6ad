// Renders and lints charts/tollgate with the real helm binary, and parses what it renders.
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { type RunResult, run } from './exec.ts';
import { type K8sTools, repoRoot } from './tools.ts';

export const chartDir = path.join(repoRoot, 'charts/tollgate');

/** Values files of the non-default scenarios (chart-testing's convention: charts/<chart>/ci/). */
export const scenarioValuesDir = path.join(chartDir, 'ci');

/** A rendered Kubernetes object, loosely typed: tests read fields by path. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

/** The value at a dotted path ("spec.template.spec.containers.0.args"), or undefined. */
export function dig(value: unknown, dottedPath: string): unknown {
  let current = value;
  for (const key of dottedPath.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

export interface RenderOptions {
  release?: string;
  namespace?: string;
  /** Values files, relative to the chart's ci/ directory or absolute. */
  valuesFiles?: string[];
  /** --set-json key=value pairs. */
  set?: Record<string, unknown>;
  includeCrds?: boolean;
}

// helm keeps no state for template and lint, but give it its own homes anyway.
const helmEnv = {
  HELM_CACHE_HOME: path.join(tmpdir(), 'tollgate-helm', 'cache'),
  HELM_CONFIG_HOME: path.join(tmpdir(), 'tollgate-helm', 'config'),
  HELM_DATA_HOME: path.join(tmpdir(), 'tollgate-helm', 'data'),
};

export function valuesArgs(options: Pick<RenderOptions, 'valuesFiles' | 'set'>): string[] {
  const args: string[] = [];
  for (const file of options.valuesFiles ?? []) args.push('--values', path.resolve(scenarioValuesDir, file));
  for (const [key, value] of Object.entries(options.set ?? {})) {
    args.push('--set-json', `${key}=${JSON.stringify(value)}`);
  }
  return args;
}

/** `helm template`; throws with helm's message when rendering fails. */
export async function helmTemplate(tools: K8sTools, options: RenderOptions = {}): Promise<string> {
  const { stdout } = await run(
    tools.helm,
    [
      'template',
      options.release ?? 'tollgate',
      chartDir,
      '--namespace',
      options.namespace ?? 'tollgate-system',
      ...(options.includeCrds ? ['--include-crds'] : []),
      ...valuesArgs(options),
    ],
    { env: helmEnv },
  );
  return stdout;
}

/** `helm template` that is expected to fail: resolves with helm's result. */
export function helmTemplateResult(tools: K8sTools, options: RenderOptions = {}): Promise<RunResult> {
  return run(
    tools.helm,
    [
      'template',
      options.release ?? 'tollgate',
      chartDir,
      '--namespace',
      options.namespace ?? 'tollgate-system',
      ...valuesArgs(options),
    ],
    { env: helmEnv, allowFailure: true },
  );
}

/** `helm lint --strict` (warnings fail too). */
export function helmLint(
  tools: K8sTools,
  options: Pick<RenderOptions, 'valuesFiles' | 'set'> = {},
): Promise<RunResult> {
  return run(tools.helm, ['lint', '--strict', chartDir, ...valuesArgs(options)], {
    env: helmEnv,
    allowFailure: true,
  });
}

export function parseManifests(yaml: string): K8sObject[] {
  return parseAllDocuments(yaml)
    .map((document) => {
      if (document.errors.length > 0) throw new Error(`rendered YAML does not parse: ${document.errors[0]}`);
      return document.toJS() as K8sObject | null;
    })
    .filter((object): object is K8sObject => object !== null && typeof object === 'object');
}

export function findObject(objects: readonly K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) {
    const present = objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ');
    throw new Error(`no ${kind}/${name} in the rendered chart (present: ${present})`);
  }
  return found;
}
