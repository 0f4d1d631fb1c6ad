// CRDs of the third-party kinds the chart can render (ServiceMonitor, PrometheusRule, cert-manager's Certificate and
// Issuer), so they are validated like everything else: by kubeconform and by a real API server.
// They come from the projects' Go modules through the Go module proxy (the same path provision.sh
// takes for the Kubernetes binaries) and stay in the Go module cache.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { run } from './exec.ts';

const THIRD_PARTY_CRDS = [
  {
    module: 'github.com/prometheus-operator/prometheus-operator',
    version: 'v0.85.0',
    files: [
      'example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml',
      'example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml',
    ],
  },
  {
    module: 'github.com/cert-manager/cert-manager',
    version: 'v1.21.2',
    files: ['deploy/crds/cert-manager.io_certificates.yaml', 'deploy/crds/cert-manager.io_issuers.yaml'],
  },
] as const;

function goCommand(): string {
  if (process.env.GO) return process.env.GO;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && existsSync(path.join(dir, 'go'))) return path.join(dir, 'go');
  }
  return '/usr/local/go/bin/go';
}

/** The YAML of every third-party CRD the chart's optional features use. */
export async function thirdPartyCrdManifests(): Promise<string[]> {
  const manifests: string[] = [];
  for (const { module, version, files } of THIRD_PARTY_CRDS) {
    const { stdout } = await run(goCommand(), ['mod', 'download', '-json', `${module}@${version}`], {
      // Outside any module, with the installed toolchain.
      cwd: tmpdir(),
      env: { GOTOOLCHAIN: 'local', GOFLAGS: '-mod=mod', GO111MODULE: 'on' },
    });
    const { Dir: dir } = JSON.parse(stdout) as { Dir?: string };
    if (!dir) throw new Error(`go mod download ${module}@${version} reported no directory:\n${stdout}`);
    for (const file of files) manifests.push(await readFile(path.join(dir, file), 'utf8'));
  }
  return manifests;
}
