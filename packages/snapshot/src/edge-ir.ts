// Edge sections of a route entry's effective policy (CORS, IP filter, size limits, compression,
// response cache) and the certificates of the HTTPS listener. Kept apart from ir.ts so the
// features that own them grow here; ir.ts references them.
import { z } from 'zod';

export const CorsIR = z.object({
  from: z.string(),
  /** As written: "*", exact origins, or "scheme://*.domain" wildcards. */
  allowOrigins: z.array(z.string()),
  /** Uppercase methods, or ["*"]. */
  allowMethods: z.array(z.string()),
  /** Lowercase header names, or ["*"]. */
  allowHeaders: z.array(z.string()),
  exposeHeaders: z.array(z.string()),
  maxAgeSeconds: z.number().int().min(0),
  allowCredentials: z.boolean(),
});
export type CorsIR = z.infer<typeof CorsIR>;

export const IPFilterIR = z.object({
  from: z.string(),
  /** CIDR blocks (IPv4 and IPv6); absent ⇒ every address not denied is allowed. */
  allow: z.array(z.string()).optional(),
  deny: z.array(z.string()).optional(),
});
export type IPFilterIR = z.infer<typeof IPFilterIR>;

export const SizeLimitsIR = z.object({
  from: z.string(),
  maxRequestBodyBytes: z.number().int().min(1).optional(),
  maxRequestHeadersBytes: z.number().int().min(1).optional(),
  maxRequestHeaders: z.number().int().min(1).optional(),
});
export type SizeLimitsIR = z.infer<typeof SizeLimitsIR>;

export const CompressionIR = z.object({
  from: z.string(),
  /** Server preference order. */
  algorithms: z.array(z.enum(['br', 'gzip'])).min(1),
  minBytes: z.number().int().min(0),
  /** Lowercase media types or "type/*"; absent ⇒ every type known to be compressible. */
  contentTypes: z.array(z.string()).optional(),
});
export type CompressionIR = z.infer<typeof CompressionIR>;

export const ResponseCacheIR = z.object({
  from: z.string(),
  /** Freshness of responses that state none, and the cap on any response's freshness. */
  ttlMs: z.number().int().min(1),
  maxEntryBytes: z.number().int().min(1),
  /** Each consumer gets its own entries. */
  perConsumer: z.boolean(),
});
export type ResponseCacheIR = z.infer<typeof ResponseCacheIR>;

/** The edge sections that apply to a route entry; each from the most specific Policy setting it. */
export const EdgePolicyIR = z.object({
  cors: CorsIR.optional(),
  ipFilter: IPFilterIR.optional(),
  limits: SizeLimitsIR.optional(),
  compression: CompressionIR.optional(),
  cache: ResponseCacheIR.optional(),
});
export type EdgePolicyIR = z.infer<typeof EdgePolicyIR>;

export const CertificateIR = z.object({
  /** `secret/<namespace>/<name>`. */
  id: z.string(),
  /** PEM: the leaf first, then intermediates. */
  certPem: z.string(),
  /** PEM private key. Redacted by every dump and log. */
  keyPem: z.string(),
  /** DNS names the certificate covers (its subject alternative names), for dumps and checks. */
  dnsNames: z.array(z.string()),
});
export type CertificateIR = z.infer<typeof CertificateIR>;

export const TlsIR = z.object({
  certificates: z.array(CertificateIR),
  /** SNI name ("shop.example.com" or "*.example.com") → certificate; exact names win over wildcards. */
  hosts: z.array(z.object({ hostname: z.string(), certificateId: z.string() })),
  /** Served to clients that send no SNI name or one no host claims. */
  defaultCertificateId: z.string().optional(),
});
export type TlsIR = z.infer<typeof TlsIR>;
