// Header handling for both directions: hop-by-hop stripping, forwarding headers, and the
// Gateway API header modifier (set / add / remove), compiled once per route entry.
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { HeaderModifierIR } from '@tollgate/snapshot';

/** Outgoing headers keyed by lowercase name; arrays become repeated header lines. */
export type HeaderMap = Record<string, string | string[]>;

/** Connection-scoped headers (RFC 9110 §7.6.1) that a proxy must not forward. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
]);

/** Request headers the proxy sets itself, so the client's values are not copied. */
const SET_BY_PROXY = new Set([
  'host',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-request-id',
]);

/** Headers the upstream client library refuses, or that would change the upstream exchange. */
const NOT_FORWARDED = new Set(['expect']);

function isHopByHop(name: string): boolean {
  return HOP_BY_HOP.has(name) || name.startsWith('proxy-');
}

/** Extra header names a message lists in its Connection header (they are hop-by-hop too). */
function connectionTokens(value: string | string[] | undefined): Set<string> | undefined {
  if (value === undefined) return undefined;
  const tokens = new Set<string>();
  for (const part of (Array.isArray(value) ? value.join(',') : value).split(',')) {
    const token = part.trim().toLowerCase();
    if (token && token !== 'close' && token !== 'keep-alive') tokens.add(token);
  }
  return tokens.size > 0 ? tokens : undefined;
}

function append(headers: HeaderMap, name: string, value: string): void {
  const existing = headers[name];
  if (existing === undefined) headers[name] = value;
  else if (Array.isArray(existing)) existing.push(value);
  else headers[name] = [existing, value];
}

export interface ForwardingInfo {
  /** The Host header to send upstream. */
  host: string | undefined;
  /** The client's Host header, for x-forwarded-host. */
  clientHost: string | undefined;
  clientAddress: string | undefined;
  proto: 'http' | 'https';
  requestId: string;
}

/** The headers to send upstream: the client's end-to-end headers plus the forwarding headers. */
export function upstreamRequestHeaders(req: IncomingMessage, info: ForwardingInfo): HeaderMap {
  const headers: HeaderMap = {};
  const listed = connectionTokens(req.headers.connection);
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (isHopByHop(name) || SET_BY_PROXY.has(name) || NOT_FORWARDED.has(name)) continue;
    // HTTP/2 pseudo-headers (:method, :path, :authority, :scheme) describe the request line.
    if (name.charCodeAt(0) === 58 /* : */) continue;
    if (listed?.has(name)) continue;
    append(headers, name, raw[i + 1]!);
  }
  if (info.host !== undefined) headers.host = info.host;
  const previous = req.headers['x-forwarded-for'];
  if (info.clientAddress)
    headers['x-forwarded-for'] = previous ? `${previous}, ${info.clientAddress}` : info.clientAddress;
  else if (previous) headers['x-forwarded-for'] = previous;
  headers['x-forwarded-proto'] = info.proto;
  if (info.clientHost !== undefined) headers['x-forwarded-host'] = info.clientHost;
  headers['x-request-id'] = info.requestId;
  return headers;
}

/** The upstream response headers minus hop-by-hop ones (node:http frames the response itself). */
export function downstreamResponseHeaders(upstream: IncomingHttpHeaders): HeaderMap {
  const headers: HeaderMap = {};
  const listed = connectionTokens(upstream.connection);
  for (const name in upstream) {
    const value = upstream[name];
    if (value === undefined || isHopByHop(name) || listed?.has(name)) continue;
    headers[name] = value;
  }
  return headers;
}

export interface HeaderModifier {
  apply(headers: HeaderMap): void;
}

/** Compiles a header modifier: `set` replaces, `add` appends ("foo" + "bar" → "foo,bar"), `remove` deletes. */
export function compileHeaderModifier(ir: HeaderModifierIR | undefined): HeaderModifier | undefined {
  if (!ir || (ir.set.length === 0 && ir.add.length === 0 && ir.remove.length === 0)) return undefined;
  const set = ir.set.map((h) => [h.name.toLowerCase(), h.value] as const);
  const add = ir.add.map((h) => [h.name.toLowerCase(), h.value] as const);
  const remove = ir.remove.map((name) => name.toLowerCase());
  return {
    apply(headers) {
      for (const [name, value] of set) headers[name] = value;
      for (const [name, value] of add) {
        const existing = headers[name];
        if (existing === undefined) headers[name] = value;
        // Set-Cookie cannot be comma-joined; it stays a list of lines.
        else if (Array.isArray(existing)) existing.push(value);
        else if (name === 'set-cookie') headers[name] = [existing, value];
        else headers[name] = `${existing},${value}`;
      }
      for (const name of remove) delete headers[name];
    },
  };
}
