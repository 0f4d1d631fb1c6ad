// Self-signed test certificates from the openssl CLI (EC P-256, fast to make).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TlsIR } from '@tollgate/snapshot';

export interface TestCertificate {
  certPem: string;
  keyPem: string;
}

export function makeCertificate(commonName: string, dnsNames: string[]): TestCertificate {
  const dir = mkdtempSync(path.join(tmpdir(), 'tollgate-cert-'));
  try {
    const key = path.join(dir, 'tls.key');
    const cert = path.join(dir, 'tls.crt');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '2',
        '-subj',
        `/CN=${commonName}`,
        '-addext',
        `subjectAltName=${dnsNames.map((n) => `DNS:${n}`).join(',')}`,
      ],
      { stdio: 'ignore' },
    );
    return { certPem: readFileSync(cert, 'utf8'), keyPem: readFileSync(key, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A snapshot `tls` section: hostname → certificate id, certificates by id. */
export function tlsOf(
  certificates: Record<string, TestCertificate>,
  hosts: Record<string, string>,
  defaultCertificateId?: string,
): TlsIR {
  return {
    certificates: Object.entries(certificates).map(([id, c]) => ({ id, ...c, dnsNames: [] })),
    hosts: Object.entries(hosts).map(([hostname, certificateId]) => ({ hostname, certificateId })),
    ...(defaultCertificateId ? { defaultCertificateId } : {}),
  };
}
