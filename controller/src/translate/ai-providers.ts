// AIProviders: base URL, credentials from Secrets, models. A provider whose credentials do not
// resolve is left out of the snapshot (Accepted=False, UnresolvedRefs) rather than served without them.
import { type AIProvider, defaultBaseURLs, type SecretKeyRef } from '@tollgate/api';
import type { AIProviderIR, ClusterIR } from '@tollgate/snapshot';
import { durationToMs } from './durations.ts';
import type { ObjectIndex } from './objects.ts';
import type { ObjectReport, Reports } from './report.ts';
import { readSecretKey } from './secrets.ts';
import { parseUpstreamURL } from './upstream-url.ts';

export interface UsableProvider {
  provider: AIProviderIR;
  cluster: ClusterIR;
}

export const aiProviderId = (namespace: string, name: string): string => `ai/${namespace}/${name}`;

/** Providers that made it into the snapshot, by `namespace/name`. */
export function compileAIProviders(index: ObjectIndex, reports: Reports): Map<string, UsableProvider> {
  const usable = new Map<string, UsableProvider>();
  for (const entry of index.all('AIProvider')) {
    if (!entry.object) continue;
    const { namespace, name } = entry.identity;
    const report = reports.for({ ...entry.identity, kind: 'AIProvider' });
    const compiled = compileProvider(entry.object, namespace, name, index, report);
    if (compiled) usable.set(`${namespace}/${name}`, compiled);
  }
  return usable;
}

/**
 * The default base URL of a type, its `{location}` / `{region}` filled from the provider's
 * settings (vertex-ai's "global" location has an endpoint without a location prefix).
 */
export function defaultBaseURL(spec: AIProvider['spec']): string | undefined {
  if (spec.type === 'vertex-ai' && spec.vertex) {
    const { location } = spec.vertex;
    return location === 'global'
      ? 'https://aiplatform.googleapis.com'
      : `https://${location}-aiplatform.googleapis.com`;
  }
  if (spec.type === 'bedrock' && spec.bedrock)
    return `https://bedrock-runtime.${spec.bedrock.region}.amazonaws.com`;
  const template = defaultBaseURLs[spec.type];
  return template && !template.includes('{') ? template : undefined;
}

function compileProvider(
  object: AIProvider,
  namespace: string,
  name: string,
  index: ObjectIndex,
  report: ObjectReport,
): UsableProvider | undefined {
  const { type, baseURL, auth, models, limits, timeouts, healthCheck, ...rest } = object.spec;
  const options: Record<string, unknown> = { ...rest };
  const base = baseURL ?? defaultBaseURL(object.spec);
  if (base === undefined) {
    report.reject('Invalid', `spec.baseURL: required for type "${type}"; set the provider's base URL`);
    return undefined;
  }
  const parsed = parseUpstreamURL(base);
  if (!parsed.ok) {
    report.reject('Invalid', `spec.baseURL: ${parsed.problem}`);
    return undefined;
  }

  // Credential name in the snapshot → where the manifest says to read it.
  const wanted: Array<[string, string, SecretKeyRef | undefined]> = [
    ['apiKey', 'spec.auth.secretRef', auth?.secretRef],
    ['accessKeyId', 'spec.auth.aws.accessKeyIdRef', auth?.aws?.accessKeyIdRef],
    ['secretAccessKey', 'spec.auth.aws.secretAccessKeyRef', auth?.aws?.secretAccessKeyRef],
    ['sessionToken', 'spec.auth.aws.sessionTokenRef', auth?.aws?.sessionTokenRef],
    ['serviceAccountKey', 'spec.auth.gcp.serviceAccountKeyRef', auth?.gcp?.serviceAccountKeyRef],
  ];
  const credentials: Record<string, string> = {};
  const missing: string[] = [];
  for (const [credential, field, ref] of wanted) {
    if (!ref) continue;
    const secret = readSecretKey(index, namespace, ref);
    if (secret.ok) {
      credentials[credential] = secret.value;
    } else {
      report.unresolved(secret.reason, `${field}: ${secret.message}`);
      missing.push(field);
    }
  }
  if (missing.length > 0) {
    report.reject(
      'UnresolvedRefs',
      `Left out of the snapshot until its credentials resolve: ${missing.join(', ')} (see the ResolvedRefs condition)`,
    );
    return undefined;
  }

  const { url } = parsed;
  const id = aiProviderId(namespace, name);
  const provider: AIProviderIR = {
    id,
    namespace,
    name,
    type,
    baseURL: `${url.scheme}://${url.authority}${url.path}`,
    credentials,
    models: (models ?? []).map((model) => ({ ...model, aliases: model.aliases ?? [] })),
  };
  if (healthCheck && healthCheck.enabled !== false) {
    const compiled = compileHealthCheck(healthCheck, report);
    if (!compiled) return undefined;
    options.healthCheck = compiled;
  }
  // Provider-specific settings (azure, bedrock, vertex, …) travel as the spec gives them; the
  // health check in milliseconds.
  if (Object.keys(options).length > 0) provider.options = options;
  if (limits && Object.keys(limits).length > 0) provider.limits = { ...limits };
  if (timeouts) {
    const compiled = compileTimeouts(timeouts, report);
    if (!compiled) return undefined;
    if (Object.keys(compiled).length > 0) provider.timeouts = compiled;
  }
  const cluster: ClusterIR = {
    id,
    kind: 'ai-provider',
    tls: url.scheme === 'https',
    authority: url.authority,
    endpoints: [{ host: url.host, port: url.port }],
  };
  return { provider, cluster };
}

function compileTimeouts(
  timeouts: NonNullable<AIProvider['spec']['timeouts']>,
  report: ObjectReport,
): NonNullable<AIProviderIR['timeouts']> | undefined {
  const out: NonNullable<AIProviderIR['timeouts']> = {};
  for (const [name, key] of [
    ['request', 'requestMs'],
    ['connect', 'connectMs'],
  ] as const) {
    const value = timeouts[name];
    if (value === undefined) continue;
    const ms = durationToMs(value);
    if (ms === undefined) {
      report.reject(
        'Invalid',
        `spec.timeouts.${name}: ${JSON.stringify(value)} must be a duration such as "10s", "1m30s" or "500ms"`,
      );
      return undefined;
    }
    out[key] = ms;
  }
  return out;
}

/** The health check with its durations in milliseconds (the data plane's ProviderHealthCheckIR). */
function compileHealthCheck(
  check: NonNullable<AIProvider['spec']['healthCheck']>,
  report: ObjectReport,
):
  | { intervalMs: number; timeoutMs: number; unhealthyThreshold: number; healthyThreshold: number }
  | undefined {
  const ms: Record<'interval' | 'timeout', number> = { interval: 30_000, timeout: 5_000 };
  for (const name of ['interval', 'timeout'] as const) {
    const value = check[name];
    if (value === undefined) continue;
    const parsed = durationToMs(value);
    if (parsed === undefined || parsed === 0) {
      report.reject(
        'Invalid',
        `spec.healthCheck.${name}: ${JSON.stringify(value)} must be a positive duration such as "10s" or "500ms"`,
      );
      return undefined;
    }
    ms[name] = parsed;
  }
  return {
    intervalMs: ms.interval,
    timeoutMs: ms.timeout,
    unhealthyThreshold: check.unhealthyThreshold ?? 3,
    healthyThreshold: check.healthyThreshold ?? 1,
  };
}
