// Throwaway PKI for mTLS tests, made by the openssl CLI in a temp dir: a CA, a server
// certificate for 127.0.0.1/localhost, a client certificate, and a client certificate from an
// unrelated CA (which the server must refuse).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface KeyPair {
  cert: Buffer;
  key: Buffer;
}

export interface TestPki {
  ca: Buffer;
  server: KeyPair;
  client: KeyPair;
  /** Signed by a different CA than `ca`. */
  rogueClient: KeyPair;
}

export function opensslAvailable(): boolean {
  return spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0;
}

export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-pki-'));
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const makeCa = (name: string) =>
    openssl(
      'req',
      '-x509',
      ...ecKey,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.crt`,
      '-days',
      '1',
      '-subj',
      `/CN=${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    );
  const makeLeaf = (name: string, ca: string, extensions: string) => {
    writeFileSync(join(dir, `${name}.ext`), `${extensions}\n`);
    openssl('req', '-new', ...ecKey, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    openssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${ca}.crt`,
      '-CAkey',
      `${ca}.key`,
      '-CAcreateserial',
      '-out',
      `${name}.crt`,
      '-days',
      '1',
      '-extfile',
      `${name}.ext`,
    );
  };
  try {
    makeCa('test-ca');
    makeCa('rogue-ca');
    makeLeaf('server', 'test-ca', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth');
    makeLeaf('client', 'test-ca', 'extendedKeyUsage=clientAuth');
    makeLeaf('rogue-client', 'rogue-ca', 'extendedKeyUsage=clientAuth');
    const read = (file: string) => readFileSync(join(dir, file));
    const pair = (name: string): KeyPair => ({ cert: read(`${name}.crt`), key: read(`${name}.key`) });
    return {
      ca: read('test-ca.crt'),
      server: pair('server'),
      client: pair('client'),
      rogueClient: pair('rogue-client'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
