// The collections the Kubernetes source watches, and where they live in the API. Everything the
// translator reads except Secrets, which are watched one by one (see secret-refs.ts).

export interface WatchedResource {
  /** `group/version`, or `v1` for the core group: what the objects' apiVersion says. */
  apiVersion: string;
  kind: string;
  /** Lowercase plural, as it appears in the URL. */
  plural: string;
}

export const TOLLGATE_API_VERSION = 'tollgate.dev/v1alpha1';

export const WATCHED_RESOURCES: readonly WatchedResource[] = [
  { apiVersion: TOLLGATE_API_VERSION, kind: 'Route', plural: 'routes' },
  { apiVersion: TOLLGATE_API_VERSION, kind: 'AIProvider', plural: 'aiproviders' },
  { apiVersion: TOLLGATE_API_VERSION, kind: 'Consumer', plural: 'consumers' },
  { apiVersion: TOLLGATE_API_VERSION, kind: 'Policy', plural: 'policies' },
  { apiVersion: 'v1', kind: 'Service', plural: 'services' },
  { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', plural: 'endpointslices' },
];

export const SECRET_RESOURCE: WatchedResource = { apiVersion: 'v1', kind: 'Secret', plural: 'secrets' };

/**
 * The collection URL path: cluster-wide when `namespace` is undefined, else within it.
 * `/api/v1/services`, `/apis/tollgate.dev/v1alpha1/namespaces/shop/routes`.
 */
export function collectionPath(resource: WatchedResource, namespace?: string): string {
  const root = resource.apiVersion.includes('/')
    ? `/apis/${resource.apiVersion}`
    : `/api/${resource.apiVersion}`;
  const scope = namespace === undefined ? '' : `/namespaces/${encodeURIComponent(namespace)}`;
  return `${root}${scope}/${resource.plural}`;
}
