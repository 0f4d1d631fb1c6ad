// The active snapshot as JSON for /config_dump, with provider credentials redacted.
import type { Snapshot } from '@tollgate/snapshot';

export const REDACTED = '[REDACTED]';

export interface ConfigDump {
  version: string | null;
  appliedAt: string | null;
  snapshot: Snapshot | null;
}

/** A copy of the snapshot whose AIProvider credential values and TLS keys are replaced (names are kept). */
export function redactSnapshot(snapshot: Snapshot): Snapshot {
  return {
    ...snapshot,
    aiProviders: snapshot.aiProviders.map((provider) => ({
      ...provider,
      credentials: Object.fromEntries(Object.keys(provider.credentials).map((name) => [name, REDACTED])),
    })),
    // TLS private keys never leave the data plane; certificates are public and stay.
    ...(snapshot.tls
      ? {
          tls: {
            ...snapshot.tls,
            certificates: snapshot.tls.certificates.map((c) => ({ ...c, keyPem: REDACTED })),
          },
        }
      : {}),
  };
}
