// Argo CD's view of a Tollgate object: the health check docs/install.md tells users to paste into
// argocd-cm, run by a real Lua VM on the object as the API server stores it (status included).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { type LuaEngine, LuaFactory } from 'wasmoon';
import { parse } from 'yaml';

const root = path.resolve(import.meta.dirname, '../../..');

export interface ArgoHealth {
  status: string;
  message: string;
}

/** The ConfigMap in the YAML block that follows the argocd-health marker in docs/install.md. */
export function documentedHealthConfigMap(): { data: Record<string, string> } {
  const doc = readFileSync(path.join(root, 'docs/install.md'), 'utf8');
  const marker = doc.indexOf('<!-- argocd-health');
  const block = marker < 0 ? null : /```yaml\n([\s\S]*?)\n```/.exec(doc.slice(marker));
  if (!block) throw new Error('docs/install.md has no YAML block after the argocd-health marker');
  return parse(block[1]!) as { data: Record<string, string> };
}

/** The Lua of `resource.customizations.health.tollgate.dev_<kind>` in the documented ConfigMap. */
export function documentedHealthScript(kind: string): string {
  const script = documentedHealthConfigMap().data[`resource.customizations.health.tollgate.dev_${kind}`];
  if (!script) throw new Error(`docs/install.md configures no health check for ${kind}`);
  return script;
}

/** A JSON value as a Lua table constructor (how Argo CD hands `obj` to the script). */
export function luaLiteral(value: unknown): string {
  if (value === null || value === undefined) return 'nil';
  if (typeof value === 'string') return `"${value.replace(/[\\"]/g, '\\$&').replace(/\n/g, '\\n')}"`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `{${value.map(luaLiteral).join(', ')}}`;
  return `{${Object.entries(value as Record<string, unknown>)
    .map(([k, v]) => `[${luaLiteral(k)}] = ${luaLiteral(v)}`)
    .join(', ')}}`;
}

export interface ArgoHealthCheck {
  /** The verdict Argo CD would show for this object (as `kubectl get -o json` prints it). */
  health(object: { kind: string }): Promise<ArgoHealth>;
  close(): void;
}

export async function startArgoHealthCheck(): Promise<ArgoHealthCheck> {
  const lua: LuaEngine = await new LuaFactory().createEngine();
  return {
    health: async (object) =>
      (await lua.doString(
        `obj = ${luaLiteral(object)}\n${documentedHealthScript(object.kind)}`,
      )) as ArgoHealth,
    close: () => lua.global.close(),
  };
}
