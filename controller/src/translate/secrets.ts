// Reading one key of a Secret in the referring object's namespace.
import type { Secret, SecretKeyRef } from '@tollgate/api';
import type { ObjectIndex } from './objects.ts';

export type SecretValue =
  | { ok: true; value: string }
  | { ok: false; reason: 'SecretNotFound' | 'InvalidSecret' | 'SecretKeyNotFound'; message: string };

/**
 * The value of `ref.key`: `stringData` wins over `data` (as the API server folds them), `data` is
 * base64. One trailing newline is dropped: keys written with `echo` or `--from-file` carry one,
 * and a newline is never part of a credential (it would not even fit in a header).
 */
export function readSecretKey(index: ObjectIndex, namespace: string, ref: SecretKeyRef): SecretValue {
  const entry = index.get('Secret', namespace, ref.name);
  if (!entry) {
    return {
      ok: false,
      reason: 'SecretNotFound',
      message: `Secret "${ref.name}" not found in namespace "${namespace}"; create it or fix the name`,
    };
  }
  if (!entry.object) {
    return {
      ok: false,
      reason: 'InvalidSecret',
      message: `Secret "${ref.name}" in namespace "${namespace}" is not a valid Secret (${entry.invalid}); fix its manifest`,
    };
  }
  const raw = secretValue(entry.object as Secret, ref.key);
  if (raw === undefined) {
    const keys = Object.keys({
      ...(entry.object as Secret).data,
      ...(entry.object as Secret).stringData,
    }).sort();
    const has = keys.length > 0 ? `it has ${keys.map((k) => `"${k}"`).join(', ')}` : 'it has no keys';
    return {
      ok: false,
      reason: 'SecretKeyNotFound',
      message: `Secret "${ref.name}" in namespace "${namespace}" has no key "${ref.key}" (${has}); add the key or fix secretRef.key`,
    };
  }
  const value = raw.replace(/\r?\n$/, '');
  if (value === '') {
    return {
      ok: false,
      reason: 'SecretKeyNotFound',
      message: `key "${ref.key}" of Secret "${ref.name}" in namespace "${namespace}" is empty; put the value in it`,
    };
  }
  return { ok: true, value };
}

function secretValue(secret: Secret, key: string): string | undefined {
  // Own keys only: a key named "constructor" must not find Object.prototype's.
  if (secret.stringData && Object.hasOwn(secret.stringData, key)) return secret.stringData[key];
  if (secret.data && Object.hasOwn(secret.data, key))
    return Buffer.from(secret.data[key]!, 'base64').toString('utf8');
  return undefined;
}
