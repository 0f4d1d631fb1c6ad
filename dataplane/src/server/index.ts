export { CertificateSet, type CompiledCertificate, fingerprint } from './certificates.ts';
export { type ConnectionLimit, limitConnectionsPerIP } from './connection-limit.ts';
export { type EdgeMetrics, registerEdgeMetrics } from './edge-metrics.ts';
export { H2cAcceptor } from './h2c.ts';
export { SecureListener, type SecureListenerOptions } from './secure-listener.ts';
export { createUpgradeHandler, type UpgradeHandler, type UpgradeOptions } from './upgrade.ts';
