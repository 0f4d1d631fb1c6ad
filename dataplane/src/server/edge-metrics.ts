// Metrics of the listeners and response handling: response-cache lookups and memory, connections
// refused by the per-IP limit, and the expiry of every certificate the TLS listener serves (alert
// on it before clients see an expired certificate).
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ResponseCacheStore } from '../response/index.ts';
import type { CertificateSet } from './certificates.ts';

export interface EdgeMetrics {
  connectionRefused(listener: 'http' | 'https'): void;
}

export function registerEdgeMetrics(
  registry: Registry,
  sources: { cache: ResponseCacheStore; certificates: () => CertificateSet | undefined },
): EdgeMetrics {
  const lookups = new Counter({
    name: 'tollgate_response_cache_lookups_total',
    help: 'Requests on cached routes, by result: hit (served from the cache), revalidated (upstream said 304), miss.',
    labelNames: ['result'],
    registers: [registry],
  });
  sources.cache.onLookup = (result) => lookups.labels(result).inc();
  new Gauge({
    name: 'tollgate_response_cache_bytes',
    help: 'Bytes held by the response cache (bodies and headers); bounded by --response-cache-bytes.',
    registers: [registry],
    collect() {
      this.set(sources.cache.stats().bytes);
    },
  });
  const refused = new Counter({
    name: 'tollgate_connections_refused_total',
    help: 'Connections closed at accept because the client IP held --max-connections-per-ip already.',
    labelNames: ['listener'],
    registers: [registry],
  });
  new Gauge({
    name: 'tollgate_tls_certificate_expiry_timestamp_seconds',
    help: 'When each certificate served by the TLS listener expires (Unix time), by Secret.',
    labelNames: ['certificate'],
    registers: [registry],
    collect() {
      this.reset();
      for (const certificate of sources.certificates()?.all ?? [])
        this.labels(certificate.id).set(Math.floor(certificate.notAfterMs / 1000));
    },
  });
  return { connectionRefused: (listener) => refused.labels(listener).inc() };
}
