// A rule's filters to their snapshot form. The schema (CEL) already guarantees the filter shapes:
// each filter sets the field of its type, at most one filter of each type except RequestMirror,
// no RequestRedirect together with URLRewrite, ReplacePrefixMatch only on a single PathPrefix
// match. Header names are lowercased. A RequestRedirect answers the request itself, so the rule's
// backends and mirrors are unused (and not resolved).
import type { HeaderModifier, PathModifier, RouteFilter } from '@tollgate/api';
import type { HeaderModifierIR, PathModifierIR, RouteActionIR } from '@tollgate/snapshot';
import { type BackendContext, type ClusterRegistry, resolveBackend } from './backends.ts';
import type { ObjectReport } from './report.ts';

export type RedirectIR = Extract<RouteActionIR, { kind: 'redirect' }>;

export interface CompiledFilters {
  requestHeaders?: HeaderModifierIR;
  responseHeaders?: HeaderModifierIR;
  urlRewrite?: { hostname?: string; path?: PathModifierIR };
  redirect?: RedirectIR;
  /** Cluster ids of the mirrors that resolved, in filter order. */
  mirrors: string[];
}

export interface FilterInput {
  filters: readonly RouteFilter[];
  /** `spec.rules[i]`. */
  field: string;
  namespace: string;
  report: ObjectReport;
  backends: BackendContext;
  clusters: ClusterRegistry;
}

export function compileFilters(input: FilterInput): CompiledFilters {
  const { filters, field, report } = input;
  const out: CompiledFilters = { mirrors: [] };
  const redirects = filters.some((filter) => filter.type === 'RequestRedirect');
  filters.forEach((filter, i) => {
    switch (filter.type) {
      case 'RequestHeaderModifier':
        out.requestHeaders = headerModifier(filter.requestHeaderModifier!);
        break;
      case 'ResponseHeaderModifier':
        out.responseHeaders = headerModifier(filter.responseHeaderModifier!);
        break;
      case 'URLRewrite': {
        const { hostname, path } = filter.urlRewrite!;
        const rewrite: NonNullable<CompiledFilters['urlRewrite']> = {};
        if (hostname !== undefined) rewrite.hostname = hostname;
        if (path) rewrite.path = pathModifier(path);
        out.urlRewrite = rewrite;
        break;
      }
      case 'RequestRedirect': {
        const { scheme, hostname, port, path, statusCode } = filter.requestRedirect!;
        out.redirect = {
          kind: 'redirect',
          ...(scheme === undefined ? {} : { scheme }),
          ...(hostname === undefined ? {} : { hostname }),
          ...(port === undefined ? {} : { port }),
          ...(path ? { path: pathModifier(path) } : {}),
          statusCode: statusCode ?? 302,
        };
        break;
      }
      case 'RequestMirror': {
        if (redirects) break;
        const at = `${field}.filters[${i}].requestMirror.backendRef`;
        const ref = filter.requestMirror!.backendRef;
        if (ref.kind === 'AIProvider') {
          report.unresolved(
            'InvalidBackend',
            `${at}: a mirror must be a Service or a url, not an AIProvider (the mirror is skipped)`,
          );
          break;
        }
        const resolved = resolveBackend(ref, input.namespace, input.backends);
        if (!resolved.ok) {
          report.unresolved(resolved.reason, `${at}: ${resolved.message} (the mirror is skipped)`);
          break;
        }
        input.clusters.add(resolved.cluster);
        if (!out.mirrors.includes(resolved.cluster.id)) out.mirrors.push(resolved.cluster.id);
        break;
      }
    }
  });
  return out;
}

function headerModifier(modifier: HeaderModifier): HeaderModifierIR {
  const lower = (list: HeaderModifier['set']) =>
    (list ?? []).map(({ name, value }) => ({ name: name.toLowerCase(), value }));
  return {
    set: lower(modifier.set),
    add: lower(modifier.add),
    remove: (modifier.remove ?? []).map((name) => name.toLowerCase()),
  };
}

function pathModifier(modifier: PathModifier): PathModifierIR {
  return modifier.type === 'ReplaceFullPath'
    ? { type: 'ReplaceFullPath', replaceFullPath: modifier.replaceFullPath! }
    : { type: 'ReplacePrefixMatch', replacePrefixMatch: modifier.replacePrefixMatch! };
}
