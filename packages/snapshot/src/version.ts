import { createHash } from 'node:crypto';
import type { Snapshot, SnapshotContent } from './ir.ts';

/** JSON with object keys sorted at every level, so equal content always has equal bytes. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const sorted: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
      return sorted;
    }
    return v;
  });
}

/** The snapshot version: the first 16 hex digits of the SHA-256 of its canonical content. */
export function contentVersion(content: SnapshotContent): string {
  return createHash('sha256').update(canonicalJson(content)).digest('hex').slice(0, 16);
}

export function sealSnapshot(content: SnapshotContent): Snapshot {
  return { ...content, version: contentVersion(content) };
}

export const emptySnapshotContent = (): SnapshotContent => ({
  virtualHosts: [],
  clusters: [],
  aiProviders: [],
  consumers: [],
  policies: [],
});
