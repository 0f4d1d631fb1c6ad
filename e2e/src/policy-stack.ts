// The objects most Policy tests stand on: one OpenAI-compatible AIProvider (its key in a Secret)
// behind a Route, Consumers with API keys, and a Policy that asks every route of a namespace for
// a key. Each returns multi-document YAML in the `default` namespace, ready for a stack's file.

/** Where the provider is (a mock's baseURL and key); without baseURL the provider's own default. */
export interface ProviderEndpoint {
  baseURL?: string;
  apiKey: string;
}

export interface AIRouteOptions {
  /** The AIProvider's name; its key Secret is `<name>-key`. */
  provider?: string;
  /** The Route's name. */
  route?: string;
  /** The models the provider lists (none: the field is left out). */
  models?: string[];
}

/** A Secret with the provider's key, an `openai` AIProvider using it, and a Route to the provider. */
export function aiRouteManifests(endpoint: ProviderEndpoint, options: AIRouteOptions = {}): string {
  const { provider = 'llm', route = 'llm', models = ['gpt-4o-mini'] } = options;
  const baseURL = endpoint.baseURL === undefined ? '' : `\n  baseURL: ${endpoint.baseURL}`;
  const modelList =
    models.length === 0 ? '' : `\n  models: [${models.map((model) => `{ name: ${model} }`).join(', ')}]`;
  return `apiVersion: v1
kind: Secret
metadata: { name: ${provider}-key, namespace: default }
stringData: { api-key: ${endpoint.apiKey} }
---
apiVersion: tollgate.dev/v1alpha1
kind: AIProvider
metadata: { name: ${provider}, namespace: default }
spec:
  type: openai${baseURL}
  auth: { secretRef: { name: ${provider}-key, key: api-key } }${modelList}
---
apiVersion: tollgate.dev/v1alpha1
kind: Route
metadata: { name: ${route}, namespace: default }
spec:
  rules:
    - backendRefs: [{ kind: AIProvider, name: ${provider} }]
`;
}

/** A Secret `<secret>` holding one API key under `key`. */
export function keySecret(secret: string, key: string): string {
  return `apiVersion: v1
kind: Secret
metadata: { name: ${secret}, namespace: default }
stringData: { key: ${key} }
`;
}

/** A Consumer (of a team, optionally) whose API key is the `key` of Secret `<secret>`. */
export function consumerManifest(name: string, secret: string, team?: string): string {
  return `apiVersion: tollgate.dev/v1alpha1
kind: Consumer
metadata: { name: ${name}, namespace: default }
spec:${team === undefined ? '' : `\n  team: ${team}`}
  apiKeys: [{ secretRef: { name: ${secret}, key: key } }]
`;
}

/** A Policy `api-keys` that asks every route of the default namespace for an API key (in `headers`, if given). */
export function apiKeysPolicy(headers?: string[]): string {
  const apiKey = headers === undefined ? '{}' : `{ headers: [${headers.join(', ')}] }`;
  return `apiVersion: tollgate.dev/v1alpha1
kind: Policy
metadata: { name: api-keys, namespace: default }
spec:
  targetRefs: [{ group: "", kind: Namespace, name: default }]
  authentication: { apiKey: ${apiKey} }
`;
}

/** Documents joined into one multi-document YAML stream. */
export function yamlStream(...documents: string[]): string {
  return documents.join('---\n');
}
