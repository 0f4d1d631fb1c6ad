// End to end: a certificate Secret rotated in the standalone stack's manifests while HTTPS
// clients keep connecting. The controller compiles the new pair, the data plane swaps it for new
// handshakes: no handshake fails, no request fails, an HTTP/2 session opened before the rotation
// keeps serving, and the new certificate is what new clients see.
import { connect as h2connect } from 'node:http2';
import { connect as tlsConnect } from 'node:tls';
import { freePort, type StartedProcess, startUpstream, type TestUpstream, waitFor } from '@tollgate/testkit';
import { makeCertificate, type TestCertificate } from '../../dataplane/test/server/certs.ts';
import { startDataplaneProcess } from '../src/dataplane-process.ts';
import { type StandaloneStack, startStandaloneStack } from '../src/index.ts';

const SLOW = 60_000;
let upstream: TestUpstream;
let stack: StandaloneStack;
let dataplane: StartedProcess;
let tlsPort: number;

function manifests(certificate: TestCertificate): string {
  const indent = (pem: string) =>
    pem
      .trim()
      .split('\n')
      .map((line) => `      ${line}`)
      .join('\n');
  return `
apiVersion: v1
kind: Secret
metadata: { name: shop-tls, namespace: default }
type: kubernetes.io/tls
stringData:
  tls.crt: |
${indent(certificate.certPem)}
  tls.key: |
${indent(certificate.keyPem)}
---
apiVersion: tollgate.dev/v1alpha1
kind: Route
metadata: { name: shop, namespace: default }
spec:
  hostnames: [shop.example.com]
  tls:
    certificateRefs: [{ name: shop-tls }]
  rules:
    - backendRefs: [{ url: "${upstream.url}" }]
`;
}

/** One HTTPS request on a fresh connection (a full handshake); the certificate's CN and the status. */
function freshRequest(): Promise<{ cn: string; status: number }> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({
      host: '127.0.0.1',
      port: tlsPort,
      servername: 'shop.example.com',
      rejectUnauthorized: false,
      ALPNProtocols: ['http/1.1'],
    });
    let response = '';
    socket.on('secureConnect', () => {
      socket.write('GET /load HTTP/1.1\r\nhost: shop.example.com\r\nconnection: close\r\n\r\n');
    });
    socket.on('data', (chunk: Buffer) => {
      response += chunk.toString();
    });
    socket.on('end', () => {
      const status = Number(response.slice(9, 12));
      resolve({ cn: String(socket.getPeerCertificate().subject?.CN ?? ''), status });
    });
    socket.on('error', reject);
  });
}

beforeAll(async () => {
  upstream = await startUpstream('shop');
  stack = await startStandaloneStack({
    'shop.yaml': manifests(makeCertificate('first', ['shop.example.com'])),
  });
  const [gatewayPort, adminPort] = await Promise.all([freePort(), freePort()]);
  tlsPort = await freePort();
  dataplane = await startDataplaneProcess({
    gatewayPort,
    adminPort,
    grpcPort: stack.grpcPort,
    nodeId: 'e2e-tls',
    args: ['--listen-tls', `127.0.0.1:${tlsPort}`],
  });
  await waitFor(async () => (await freshRequest().catch(() => undefined))?.status === 200, {
    what: 'HTTPS served with the first certificate',
    timeoutMs: 20_000,
  });
}, SLOW);

afterAll(async () => {
  await dataplane?.stop();
  await stack?.stop();
  await upstream?.close();
}, SLOW);

test(
  'rotating the certificate Secret under steady HTTPS load fails no handshake and new handshakes get the new certificate',
  async () => {
    expect((await freshRequest()).cn).toBe('first');
    const session = h2connect(`https://127.0.0.1:${tlsPort}`, {
      servername: 'shop.example.com',
      rejectUnauthorized: false,
    });
    const h2Status = () =>
      new Promise<number>((resolve, reject) => {
        const stream = session.request({ ':path': '/h2', ':authority': 'shop.example.com' });
        stream.on('response', (headers) => resolve(Number(headers[':status'])));
        stream.on('error', reject);
        stream.resume();
      });
    expect(await h2Status()).toBe(200);

    let stop = false;
    const failures: string[] = [];
    const seen = new Set<string>();
    let requests = 0;
    const client = async () => {
      while (!stop) {
        try {
          const { cn, status } = await freshRequest();
          seen.add(cn);
          requests++;
          if (status !== 200) failures.push(`status ${status}`);
        } catch (error) {
          failures.push((error as Error).message);
        }
      }
    };
    const clients = [client(), client(), client()];
    await waitFor(() => requests > 20, { what: 'load running', timeoutMs: 10_000 });
    await stack.writeManifest('shop.yaml', manifests(makeCertificate('second', ['shop.example.com'])));
    await waitFor(async () => (await freshRequest()).cn === 'second', {
      what: 'the rotated certificate served',
      timeoutMs: 20_000,
    });
    const afterRotation = requests;
    await waitFor(() => requests > afterRotation + 20, {
      what: 'load after the rotation',
      timeoutMs: 10_000,
    });
    stop = true;
    await Promise.all(clients);

    expect(failures).toEqual([]);
    expect(seen).toEqual(new Set(['first', 'second']));
    // The session from before the rotation still serves new streams.
    expect(await h2Status()).toBe(200);
    session.close();
  },
  SLOW,
);
