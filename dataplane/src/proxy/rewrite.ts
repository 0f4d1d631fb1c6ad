// Path rewriting and redirect targets, per Gateway API HTTPPathModifier semantics.
import type { PathModifierIR, RouteActionIR, RouteMatchIR } from '@tollgate/snapshot';

/**
 * Replaces the matched PathPrefix with `replacement`, on segment boundaries:
 * prefix "/foo", replacement "/xyz": "/foo/bar" → "/xyz/bar", "/foo" → "/xyz";
 * replacement "" or "/": "/foo/bar" → "/bar", "/foo" → "/".
 */
export function replacePrefix(path: string, prefix: string, replacement: string): string {
  const matched = trimTrailingSlash(prefix);
  const rest = path.slice(matched.length);
  const result = trimTrailingSlash(replacement) + rest;
  if (result === '') return '/';
  return result.startsWith('/') ? result : `/${result}`;
}

function trimTrailingSlash(value: string): string {
  return value.endsWith('/') ? value.slice(0, -1) : value;
}

export type PathRewrite = (path: string) => string;

/** Throws when the modifier cannot apply to the match (ReplacePrefixMatch needs a PathPrefix match). */
export function compilePathModifier(
  modifier: PathModifierIR | undefined,
  path: RouteMatchIR['path'],
): PathRewrite | undefined {
  if (!modifier) return undefined;
  if (modifier.type === 'ReplaceFullPath') {
    const replacement = modifier.replaceFullPath;
    return () => replacement;
  }
  if (path.type !== 'PathPrefix') {
    throw new Error(`ReplacePrefixMatch needs a PathPrefix match, not ${path.type} "${path.value}"`);
  }
  const prefix = path.value;
  const replacement = modifier.replacePrefixMatch;
  return (p) => replacePrefix(p, prefix, replacement);
}

type RedirectAction = Extract<RouteActionIR, { kind: 'redirect' }>;

export interface RedirectRequest {
  /** Lowercased host without port. */
  host: string;
  /** The port the client addressed (from its Host header), if it named one. */
  hostPort: number | undefined;
  path: string;
  query: string | undefined;
  scheme: 'http' | 'https';
}

const WELL_KNOWN_PORTS: Record<string, number> = { http: 80, https: 443 };

/**
 * The Location of a redirect. Port rules (Gateway API): an explicit port wins; otherwise a
 * redirect that changes the scheme uses that scheme's well-known port; otherwise the port the
 * client addressed. A port that is the scheme's default is left out.
 */
export function redirectLocation(
  action: RedirectAction,
  rewrite: PathRewrite | undefined,
  req: RedirectRequest,
): string {
  const scheme = action.scheme ?? req.scheme;
  const host = action.hostname ?? req.host;
  const port = action.port ?? (action.scheme ? WELL_KNOWN_PORTS[action.scheme] : req.hostPort);
  const portPart = port === undefined || port === WELL_KNOWN_PORTS[scheme] ? '' : `:${port}`;
  const path = rewrite ? rewrite(req.path) : req.path;
  const query = req.query ? `?${req.query}` : '';
  return `${scheme}://${host}${portPart}${path}${query}`;
}

/** The port in a Host header ("example.com:8080" → 8080), if any. */
export function hostHeaderPort(host: string | undefined): number | undefined {
  if (!host) return undefined;
  const close = host.lastIndexOf(']');
  const colon = host.lastIndexOf(':');
  if (colon === -1 || colon < close) return undefined;
  const port = Number(host.slice(colon + 1));
  return Number.isInteger(port) && port > 0 && port < 65536 ? port : undefined;
}
