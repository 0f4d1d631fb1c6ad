// Which Secrets the Tollgate objects reference, so that only those are read. Every Secret
// reference in the Tollgate API is a SecretKeyRef `{ name, key }` under a property whose name
// ends in `Ref` (auth.secretRef, auth.aws.accessKeyIdRef, apiKeys[].secretRef, …), always in the
// referencing object's namespace; no other `*Ref` has a `key`. Walking for that shape means a new
// credential field needs no change here (a test holds the API to the convention). The one
// exception is Route spec.tls.certificateRefs: a list of whole Secrets (`{ name }`, type
// kubernetes.io/tls), looked for by its property name.
import { TOLLGATE_API_VERSION } from './resources.ts';

export interface SecretName {
  namespace: string;
  name: string;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isSecretKeyRef = (value: unknown): value is { name: string; key: string } =>
  isRecord(value) && typeof value.name === 'string' && value.name !== '' && typeof value.key === 'string';

/** The Secrets referenced by these objects, keyed `namespace/name`. */
export function referencedSecrets(objects: Iterable<unknown>): Map<string, SecretName> {
  const found = new Map<string, SecretName>();
  for (const object of objects) {
    if (!isRecord(object) || object.apiVersion !== TOLLGATE_API_VERSION) continue;
    const metadata = isRecord(object.metadata) ? object.metadata : {};
    const namespace =
      typeof metadata.namespace === 'string' && metadata.namespace ? metadata.namespace : 'default';
    walk(object.spec, (name) => found.set(`${namespace}/${name}`, { namespace, name }));
  }
  return found;
}

function walk(value: unknown, found: (name: string) => void): void {
  if (Array.isArray(value)) {
    for (const item of value) walk(item, found);
    return;
  }
  if (!isRecord(value)) return;
  for (const [property, child] of Object.entries(value)) {
    if (property.endsWith('Ref') && isSecretKeyRef(child)) found(child.name);
    else if (property === 'certificateRefs' && Array.isArray(child)) {
      for (const ref of child) if (isRecord(ref) && typeof ref.name === 'string' && ref.name) found(ref.name);
    } else walk(child, found);
  }
}
