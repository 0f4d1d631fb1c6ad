// Route spec.tls → the HTTPS listener's certificates. Each certificateRef names a Secret (type
// kubernetes.io/tls: tls.crt + tls.key) in the Route's namespace; the PEM is checked here (it
// parses, the key matches the certificate) so a bad Secret costs a ResolvedRefs=False on its
// Route instead of a rejected snapshot. Each hostname of the Route gets the first certificate
// that covers it (else the first); a Route without hostnames provides the default certificate.
// Two Routes binding the same hostname: the older Route's certificate wins.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import type { Route } from '@tollgate/api';
import type { CertificateIR, TlsIR } from '@tollgate/snapshot';
import type { ObjectIdentity, ObjectIndex } from './objects.ts';
import { compareSeniority, compareStrings } from './order.ts';
import type { ObjectReport } from './report.ts';
import { readSecretKey } from './secrets.ts';

export interface TlsRoute {
  route: Route;
  identity: ObjectIdentity;
  report: ObjectReport;
  /** Deduplicated; "*" when the Route names none. */
  hostnames: string[];
}

type Loaded = { ok: true; certificate: CertificateIR } | { ok: false; reason: string; message: string };

/** The snapshot's `tls` section, or undefined when no accepted Route asks for TLS. */
export function compileTls(routes: TlsRoute[], index: ObjectIndex): TlsIR | undefined {
  const certificates = new Map<string, CertificateIR>();
  const hosts = new Map<string, string>();
  let defaultCertificateId: string | undefined;
  const seniorFirst = routes
    .filter((r) => r.route.spec.tls)
    .sort((a, b) => compareSeniority(a.identity, b.identity));
  for (const { route, identity, report, hostnames } of seniorFirst) {
    const loaded: CertificateIR[] = [];
    route.spec.tls?.certificateRefs.forEach((ref, i) => {
      const result = loadCertificate(index, identity.namespace, ref.name);
      if (!result.ok) {
        report.unresolved(result.reason, `spec.tls.certificateRefs[${i}]: ${result.message}`);
        return;
      }
      loaded.push(result.certificate);
    });
    if (loaded.length === 0) continue;
    for (const hostname of hostnames) {
      const chosen = loaded.find((c) => covers(c.dnsNames, hostname)) ?? loaded[0]!;
      certificates.set(chosen.id, chosen);
      if (hostname === '*') defaultCertificateId ??= chosen.id;
      else if (!hosts.has(hostname)) hosts.set(hostname, chosen.id);
    }
  }
  if (certificates.size === 0) return undefined;
  const tls: TlsIR = {
    certificates: [...certificates.values()].sort((a, b) => compareStrings(a.id, b.id)),
    hosts: [...hosts]
      .sort(([a], [b]) => compareStrings(a, b))
      .map(([hostname, certificateId]) => ({ hostname, certificateId })),
  };
  if (defaultCertificateId !== undefined) tls.defaultCertificateId = defaultCertificateId;
  return tls;
}

function loadCertificate(index: ObjectIndex, namespace: string, name: string): Loaded {
  const secretType = (index.get('Secret', namespace, name)?.object as { type?: string } | undefined)?.type;
  if (secretType !== undefined && secretType !== 'kubernetes.io/tls') {
    return {
      ok: false,
      reason: 'InvalidCertificate',
      message: `Secret "${name}" in namespace "${namespace}" is of type "${secretType}"; a certificate Secret must be of type kubernetes.io/tls (kubectl create secret tls)`,
    };
  }
  const cert = readSecretKey(index, namespace, { name, key: 'tls.crt' });
  if (!cert.ok) return cert;
  const key = readSecretKey(index, namespace, { name, key: 'tls.key' });
  if (!key.ok) return key;
  const invalid = (what: string, error: unknown): Loaded => ({
    ok: false,
    reason: 'InvalidCertificate',
    message: `Secret "${name}" in namespace "${namespace}": ${what} (${(error as Error).message}); put a PEM certificate chain in tls.crt and its PEM private key in tls.key`,
  });
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert.value);
  } catch (error) {
    return invalid('tls.crt is not a PEM certificate', error);
  }
  try {
    if (!x509.checkPrivateKey(createPrivateKey(key.value))) {
      return {
        ok: false,
        reason: 'InvalidCertificate',
        message: `Secret "${name}" in namespace "${namespace}": the private key in tls.key does not belong to the certificate in tls.crt; put the matching pair in the Secret`,
      };
    }
  } catch (error) {
    return invalid('tls.key is not a PEM private key', error);
  }
  return {
    ok: true,
    certificate: {
      id: `secret/${namespace}/${name}`,
      certPem: `${cert.value}\n`,
      keyPem: `${key.value}\n`,
      dnsNames: dnsNames(x509),
    },
  };
}

/** The DNS subject alternative names, lowercased, in certificate order. */
function dnsNames(x509: X509Certificate): string[] {
  const names = (x509.subjectAltName ?? '')
    .split(', ')
    .filter((part) => part.startsWith('DNS:'))
    .map((part) => part.slice(4).toLowerCase());
  return [...new Set(names)];
}

/** Whether a certificate for `names` is valid for `hostname` (which may itself be a wildcard). */
export function covers(names: readonly string[], hostname: string): boolean {
  if (names.includes(hostname)) return true;
  if (hostname.startsWith('*.')) return false;
  const dot = hostname.indexOf('.');
  return dot > 0 && names.includes(`*${hostname.slice(dot)}`);
}
