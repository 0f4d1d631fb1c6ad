// Lists a collection as plain JSON, the way the file source hands objects on. client-node's typed
// list calls turn objects into model classes (Dates for timestamps, unknown fields dropped), and
// the items of a list carry no apiVersion/kind; this lists over the kubeconfig's own connection
// settings and stamps both, so list results look exactly like watch events.
import http from 'node:http';
import https from 'node:https';
import type { KubeConfig, KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import type { WatchedResource } from './resources.ts';

/** A request to the API server that failed; `statusCode` is the HTTP status (undefined: no answer). */
export class KubernetesApiError extends Error {
  readonly code = 'TG_ERR_KUBERNETES_API';
  readonly statusCode: number | undefined;
  /** The Status reason the API server gave (`Forbidden`, `Expired`, `NotFound`, …). */
  readonly reason: string | undefined;

  constructor(message: string, statusCode?: number, reason?: string) {
    super(message);
    this.name = 'KubernetesApiError';
    this.statusCode = statusCode;
    this.reason = reason;
  }
}

export interface ListOptions {
  fieldSelector?: string;
  /** Page size: large collections are read in chunks the API server can serve cheaply. */
  limit?: number;
  timeoutMs?: number;
}

const DEFAULT_PAGE_SIZE = 500;
const DEFAULT_TIMEOUT_MS = 60_000;

/** Every object of the collection at one resourceVersion (pages followed through `continue`). */
export async function listCollection(
  kubeConfig: KubeConfig,
  path: string,
  resource: WatchedResource,
  options: ListOptions = {},
): Promise<KubernetesListObject<KubernetesObject>> {
  const items: KubernetesObject[] = [];
  let resourceVersion = '';
  let next: string | undefined;
  do {
    const query = new URLSearchParams({ limit: String(options.limit ?? DEFAULT_PAGE_SIZE) });
    if (options.fieldSelector) query.set('fieldSelector', options.fieldSelector);
    if (next) query.set('continue', next);
    const page = (await getJson(kubeConfig, `${path}?${query}`, options.timeoutMs)) as {
      metadata?: { resourceVersion?: string; continue?: string };
      items?: Array<Record<string, unknown> | null>;
    };
    for (const item of page.items ?? []) {
      if (!item) continue;
      items.push({ apiVersion: resource.apiVersion, kind: resource.kind, ...item } as KubernetesObject);
    }
    resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
    next = page.metadata?.continue || undefined;
  } while (next);
  return { apiVersion: 'v1', kind: `${resource.kind}List`, metadata: { resourceVersion }, items };
}

async function getJson(kubeConfig: KubeConfig, pathAndQuery: string, timeoutMs = DEFAULT_TIMEOUT_MS) {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new KubernetesApiError('the kubeconfig has no current cluster');
  const url = new URL(cluster.server.replace(/\/$/, '') + pathAndQuery);
  const options: https.RequestOptions = { method: 'GET', headers: { accept: 'application/json' } };
  await kubeConfig.applyToHTTPSOptions(options);
  const transport = url.protocol === 'http:' ? http : https;
  return new Promise<unknown>((resolve, reject) => {
    const request = transport.request(url, { ...options, timeout: timeoutMs }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const status = response.statusCode ?? 0;
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          body = undefined;
        }
        if (status >= 200 && status < 300 && body !== undefined) return resolve(body);
        const problem = (body ?? {}) as { message?: string; reason?: string };
        const detail = problem.message ?? (text.slice(0, 200) || response.statusMessage);
        reject(new KubernetesApiError(`GET ${url.pathname}: ${status} ${detail}`, status, problem.reason));
      });
    });
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on('error', (error) =>
      reject(
        error instanceof KubernetesApiError
          ? error
          : new KubernetesApiError(`GET ${url.pathname}: ${error.message}`),
      ),
    );
    request.end();
  });
}
