export { CertificateSet, type CompiledCertificate, fingerprint } from './certificates.ts';
export { type ConnectionLimit, limitConnectionsPerIP } from './connection-limit.ts';
export { SecureListener, type SecureListenerOptions } from './secure-listener.ts';
export { createUpgradeHandler, type UpgradeHandler, type UpgradeOptions } from './upgrade.ts';
