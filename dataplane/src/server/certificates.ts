// The HTTPS listener's certificates, compiled from a snapshot's `tls` section: one SecureContext
// per certificate, looked up by SNI name (exact, then the longest wildcard suffix, then the
// default). A new snapshot compiles a new set; contexts of unchanged certificates are reused, so a
// snapshot that does not touch certificates costs nothing, and a rotated one only affects new
// handshakes — established connections keep the context they negotiated.
import { createHash, X509Certificate } from 'node:crypto';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { TlsIR } from '@tollgate/snapshot';

export interface CompiledCertificate {
  id: string;
  context: SecureContext;
  certPem: string;
  keyPem: string;
  /** Expiry of the leaf certificate (ms since the epoch), for the expiry metric. */
  notAfterMs: number;
}

export class CertificateSet {
  readonly #exact = new Map<string, CompiledCertificate>();
  /** ".example.com" → certificate, longest suffix first. */
  readonly #wildcards: Array<[string, CompiledCertificate]> = [];
  readonly default: CompiledCertificate | undefined;
  readonly size: number;

  /** Throws when a certificate or key does not load (the snapshot is then rejected). */
  constructor(ir: TlsIR | undefined, previous?: CertificateSet) {
    const byId = new Map<string, CompiledCertificate>();
    for (const certificate of ir?.certificates ?? []) {
      const reused = previous?.find(certificate.id, certificate.certPem, certificate.keyPem);
      try {
        byId.set(
          certificate.id,
          reused ?? {
            id: certificate.id,
            context: createSecureContext({ cert: certificate.certPem, key: certificate.keyPem }),
            certPem: certificate.certPem,
            keyPem: certificate.keyPem,
            notAfterMs: Date.parse(new X509Certificate(certificate.certPem).validTo),
          },
        );
      } catch (error) {
        throw new Error(`certificate ${certificate.id} does not load: ${(error as Error).message}`);
      }
    }
    const get = (id: string) => {
      const found = byId.get(id);
      if (!found) throw new Error(`tls refers to certificate ${id}, which the snapshot does not define`);
      return found;
    };
    for (const { hostname, certificateId } of ir?.hosts ?? []) {
      if (hostname.startsWith('*.')) this.#wildcards.push([hostname.slice(1), get(certificateId)]);
      else this.#exact.set(hostname, get(certificateId));
    }
    this.#wildcards.sort(([a], [b]) => b.length - a.length);
    // Without an explicit default, the first certificate answers clients that send no name.
    this.default =
      ir?.defaultCertificateId !== undefined ? get(ir.defaultCertificateId) : byId.values().next().value;
    this.size = byId.size;
    this.all = [...byId.values()];
  }

  readonly all: readonly CompiledCertificate[];

  /** The certificate for an SNI name (lowercased by the caller or not: it is lowercased here). */
  select(servername: string | undefined): CompiledCertificate | undefined {
    if (!servername) return this.default;
    const name = servername.toLowerCase();
    const exact = this.#exact.get(name);
    if (exact) return exact;
    for (const [suffix, certificate] of this.#wildcards) {
      if (name.endsWith(suffix) && name.length > suffix.length) return certificate;
    }
    return this.default;
  }

  find(id: string, certPem: string, keyPem: string): CompiledCertificate | undefined {
    for (const candidate of [...this.#exact.values(), ...this.#wildcards.map(([, c]) => c), this.default]) {
      if (candidate?.id === id && candidate.certPem === certPem && candidate.keyPem === keyPem)
        return candidate;
    }
    return undefined;
  }
}

/** A short fingerprint of a PEM, for logs (never the PEM itself). */
export function fingerprint(pem: string): string {
  return createHash('sha256').update(pem).digest('hex').slice(0, 16);
}
