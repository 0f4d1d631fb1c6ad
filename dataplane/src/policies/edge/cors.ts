// Policy cors: the gateway answers preflights itself and decorates the responses of allowed
// cross-origin requests (Fetch standard CORS protocol). Origins compile once per snapshot to an
// exact set plus suffix wildcards ("https://*.example.com").
import type { IncomingMessage } from 'node:http';
import type { CorsIR } from '@tollgate/snapshot';

export type CorsVerdict =
  | { kind: 'not-cors' }
  | { kind: 'allowed'; headers: Record<string, string> }
  | { kind: 'refused'; origin: string; reason: string };

export interface Cors {
  /** For a preflight: its answer headers, or why it is refused. */
  preflight(req: IncomingMessage): CorsVerdict;
  /** For an actual request: the headers to add to its response (none when the origin is not allowed). */
  actual(req: IncomingMessage): Record<string, string> | undefined;
}

/** The method a CORS preflight asks about, or undefined when the request is not a preflight. */
export function preflightMethod(req: IncomingMessage): string | undefined {
  if (req.method !== 'OPTIONS' || req.headers.origin === undefined) return undefined;
  const method = req.headers['access-control-request-method'];
  return typeof method === 'string' && method.length > 0 ? method.toUpperCase() : undefined;
}

export function compileCors(ir: CorsIR): Cors {
  const anyOrigin = ir.allowOrigins.includes('*');
  const exact = new Set(ir.allowOrigins.filter((o) => !o.includes('*')).map((o) => o.toLowerCase()));
  // "https://*.example.com" ⇒ scheme "https://" and suffix ".example.com".
  const wildcards = ir.allowOrigins
    .filter((o) => o.includes('://*.'))
    .map((o) => {
      const [scheme, rest] = o.toLowerCase().split('://*');
      return { scheme: `${scheme}://`, suffix: rest! };
    });
  const originAllowed = (origin: string): boolean => {
    if (anyOrigin) return true;
    const lower = origin.toLowerCase();
    if (exact.has(lower)) return true;
    return wildcards.some(
      (w) =>
        lower.startsWith(w.scheme) &&
        lower.endsWith(w.suffix) &&
        lower.length > w.scheme.length + w.suffix.length,
    );
  };
  const anyMethod = ir.allowMethods.includes('*');
  const methods = new Set(ir.allowMethods);
  const anyHeader = ir.allowHeaders.includes('*');
  const allowedHeaders = new Set(ir.allowHeaders);
  // With credentials the wildcards are not allowed on the wire: echo what was asked instead.
  const echo = ir.allowCredentials;
  const common = (origin: string): Record<string, string> => {
    const headers: Record<string, string> = {
      'access-control-allow-origin': anyOrigin && !echo ? '*' : origin,
    };
    if (!anyOrigin || echo) headers.vary = 'Origin';
    if (ir.allowCredentials) headers['access-control-allow-credentials'] = 'true';
    return headers;
  };
  const exposed = ir.exposeHeaders.join(', ');

  return {
    preflight(req) {
      const origin = req.headers.origin;
      const method = preflightMethod(req);
      if (origin === undefined || method === undefined) return { kind: 'not-cors' };
      if (!originAllowed(origin)) return { kind: 'refused', origin, reason: 'the origin is not allowed' };
      if (!anyMethod && !methods.has(method))
        return { kind: 'refused', origin, reason: `the method ${method} is not allowed` };
      const requested = String(req.headers['access-control-request-headers'] ?? '')
        .split(',')
        .map((h) => h.trim().toLowerCase())
        .filter((h) => h.length > 0);
      if (!anyHeader) {
        const refused = requested.filter((h) => !allowedHeaders.has(h));
        if (refused.length > 0)
          return { kind: 'refused', origin, reason: `the headers ${refused.join(', ')} are not allowed` };
      }
      const headers = common(origin);
      headers['access-control-allow-methods'] =
        anyMethod && !echo ? '*' : anyMethod ? method : ir.allowMethods.join(', ');
      if (requested.length > 0)
        headers['access-control-allow-headers'] = anyHeader && !echo ? '*' : requested.join(', ');
      headers['access-control-max-age'] = String(ir.maxAgeSeconds);
      headers.vary = 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers';
      return { kind: 'allowed', headers };
    },
    actual(req) {
      const origin = req.headers.origin;
      if (origin === undefined || !originAllowed(origin)) return undefined;
      const headers = common(origin);
      if (exposed) headers['access-control-expose-headers'] = exposed;
      return headers;
    },
  };
}
