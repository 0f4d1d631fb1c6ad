// GET …/models on an AI route: the models the routes of this host expose, in the shape of the API
// that asks (OpenAI's list, or Anthropic's when the client sends anthropic-version).
import type { CompiledVirtualHost } from '../router/index.ts';
import type { AIPlan } from './plan.ts';
import type { ClientAPI } from './providers/types.ts';

interface WithAI {
  readonly ai?: AIPlan | undefined;
}

const cache = new WeakMap<object, string[]>();

export function modelsOfHost<T extends WithAI>(vhost: CompiledVirtualHost<T>): string[] {
  let names = cache.get(vhost);
  if (names) return names;
  const all = new Set<string>();
  for (const entry of vhost.entries) {
    const plan = entry.data.ai;
    if (!plan) continue;
    for (const name of plan.servedModels(entry.ir.match.model, entry.conditions.model)) all.add(name);
  }
  names = [...all].sort();
  cache.set(vhost, names);
  return names;
}

export function renderModelList(api: ClientAPI, names: readonly string[]): string {
  if (api === 'anthropic') {
    const data = names.map((id) => ({
      type: 'model',
      id,
      display_name: id,
      created_at: '1970-01-01T00:00:00Z',
    }));
    return JSON.stringify({
      data,
      has_more: false,
      first_id: names[0] ?? null,
      last_id: names.at(-1) ?? null,
    });
  }
  return JSON.stringify({
    object: 'list',
    data: names.map((id) => ({ id, object: 'model', created: 0, owned_by: 'tollgate' })),
  });
}
