// AI test harness: manifests (as objects) → the real translator → a real Dataplane on loopback,
// plus readers for the access log and the Prometheus metrics.
import { translate } from '../../../controller/src/translate/index.ts';
import type { DataplaneOptions } from '../../src/index.ts';
import { type LogLine, type RunningDataplane, startDataplane } from '../helpers.ts';

export interface ProviderManifest {
  name: string;
  spec: Record<string, unknown>;
  /** The API key, stored in the Secret `<name>-key` and referenced from spec.auth. */
  apiKey?: string;
}

export function providerObjects({ name, spec, apiKey }: ProviderManifest): unknown[] {
  const objects: unknown[] = [
    {
      apiVersion: 'tollgate.dev/v1alpha1',
      kind: 'AIProvider',
      metadata: { name, namespace: 'ai' },
      spec:
        apiKey === undefined
          ? spec
          : { ...spec, auth: spec.auth ?? { secretRef: { name: `${name}-key`, key: 'api-key' } } },
    },
  ];
  if (apiKey !== undefined) {
    objects.push({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: `${name}-key`, namespace: 'ai' },
      stringData: { 'api-key': apiKey },
    });
  }
  return objects;
}

export function routeObject(name: string, rules: unknown[], hostnames?: string[]): unknown {
  return {
    apiVersion: 'tollgate.dev/v1alpha1',
    kind: 'Route',
    metadata: { name, namespace: 'ai' },
    spec: { ...(hostnames ? { hostnames } : {}), rules },
  };
}

export interface Gateway extends RunningDataplane {
  apply(objects: unknown[]): void;
  /** The `ai` record of every access-log line, oldest first. */
  aiRecords(): Array<Record<string, unknown>>;
  lastAccess(): LogLine;
  metrics(): Promise<string>;
}

export async function startGateway(
  objects: unknown[],
  options: Partial<DataplaneOptions> = {},
): Promise<Gateway> {
  const running = await startDataplane(options);
  const gateway: Gateway = {
    ...running,
    apply(next) {
      const { snapshot, statuses } = translate(next);
      const refused = statuses.flatMap((s) =>
        s.conditions
          .filter((c) => c.status === 'False')
          .map((c) => `${s.ref.kind} ${s.ref.name}: ${c.type} ${c.reason}: ${c.message}`),
      );
      if (refused.length > 0) throw new Error(`manifests not accepted:\n${refused.join('\n')}`);
      running.dataplane.applySnapshot(snapshot);
    },
    aiRecords: () =>
      running.accessLogs().flatMap((line) => (line.ai ? [line.ai as Record<string, unknown>] : [])),
    lastAccess: () => running.accessLogs().at(-1)!,
    metrics: async () => (await fetch(`${running.adminUrl}/metrics`)).text(),
  };
  try {
    gateway.apply(objects);
  } catch (error) {
    await running.close();
    throw error;
  }
  return gateway;
}

/** The value of one Prometheus sample, or 0 when absent. Labels must match exactly (all of them given). */
export function sample(metrics: string, name: string, labels: Record<string, string>): number {
  for (const line of metrics.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const body = line.slice(name.length + 1, line.lastIndexOf('}'));
    const found = Object.fromEntries(
      [...body.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!] as const),
    );
    if (Object.entries(labels).every(([k, v]) => found[k] === v))
      return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

/** Waits until the access log has `count` lines (the line is written when the response closes). */
export async function accessLines(gateway: Gateway, count: number): Promise<LogLine[]> {
  const deadline = Date.now() + 5_000;
  while (gateway.accessLogs().length < count) {
    if (Date.now() > deadline)
      throw new Error(`expected ${count} access-log lines, have ${gateway.accessLogs().length}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return gateway.accessLogs();
}

/** A provider of `type` pointed at a mock provider, its key in a Secret; `spec` adds to the spec. */
export function mockProviderObjects(
  name: string,
  type: string,
  mock: { baseURL: string; apiKey: string },
  spec: Record<string, unknown> = {},
): unknown[] {
  return providerObjects({ name, spec: { type, baseURL: mock.baseURL, ...spec }, apiKey: mock.apiKey });
}
