// Which AI API a request calls, from its method and the end of its path, wherever the route
// mounts the API (/v1/chat/completions, /openai/v1/chat/completions, …).
import type { ClientAPI, Operation } from './providers/types.ts';

export type AIEndpoint =
  | { kind: 'operation'; api: ClientAPI; operation: Operation }
  | { kind: 'models'; api: ClientAPI };

export function classifyEndpoint(
  method: string,
  path: string,
  headers: Readonly<Record<string, string | string[] | undefined>>,
): AIEndpoint | undefined {
  const trimmed = path.endsWith('/') ? path.slice(0, -1) : path;
  if (method === 'POST') {
    if (trimmed.endsWith('/chat/completions')) return { kind: 'operation', api: 'openai', operation: 'chat' };
    if (trimmed.endsWith('/embeddings')) return { kind: 'operation', api: 'openai', operation: 'embeddings' };
    if (trimmed.endsWith('/messages')) return { kind: 'operation', api: 'anthropic', operation: 'chat' };
    return undefined;
  }
  if ((method === 'GET' || method === 'HEAD') && trimmed.endsWith('/models')) {
    // Both APIs list models at the same path; Anthropic's clients always send anthropic-version.
    return { kind: 'models', api: headers['anthropic-version'] !== undefined ? 'anthropic' : 'openai' };
  }
  return undefined;
}

/** The API whose error shape a request on an AI route gets, even when its endpoint is unknown. */
export function apiOfPath(path: string): ClientAPI {
  return /\/messages(\/|$)/.test(path) ? 'anthropic' : 'openai';
}
