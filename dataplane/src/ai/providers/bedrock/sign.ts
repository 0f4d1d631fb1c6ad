// SigV4 signing of one Converse request (service "bedrock"). Credentials come from the provider's
// Secret (auth.aws); without them, from the data plane's environment.
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import type { ProviderTarget } from '../types.ts';
import { ProviderRequestError } from '../types.ts';

const REGION_OF_HOST = /^bedrock-runtime(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com/;

export function regionOf(target: ProviderTarget, host: string): string {
  const bedrock = target.options.bedrock;
  const configured =
    typeof bedrock === 'object' && bedrock !== null ? (bedrock as { region?: unknown }).region : undefined;
  if (typeof configured === 'string' && configured) return configured;
  const derived = REGION_OF_HOST.exec(host)?.[1];
  if (derived) return derived;
  throw new ProviderRequestError('the provider has no spec.bedrock.region');
}

function credentialsOf(target: ProviderTarget): {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
} {
  const own = target.ir.credentials;
  const accessKeyId = own.accessKeyId ?? process.env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = own.secretAccessKey ?? process.env.AWS_SECRET_ACCESS_KEY;
  const sessionToken = own.accessKeyId ? own.sessionToken : process.env.AWS_SESSION_TOKEN;
  if (!accessKeyId || !secretAccessKey)
    throw new ProviderRequestError('the provider has no AWS credentials (spec.auth.aws)');
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
}

export interface SignInput {
  target: ProviderTarget;
  path: string;
  headers: Record<string, string>;
  body: string;
}

/** The headers to send: the given ones plus host, x-amz-date, x-amz-content-sha256 and authorization. */
export async function signRequest(input: SignInput): Promise<Record<string, string>> {
  const url = new URL(input.target.ir.baseURL);
  const signer = new SignatureV4({
    service: 'bedrock',
    region: regionOf(input.target, url.hostname),
    credentials: credentialsOf(input.target),
    sha256: Sha256,
  });
  const signed = await signer.sign({
    method: 'POST',
    protocol: url.protocol,
    hostname: url.hostname,
    path: input.path,
    query: {},
    headers: { ...input.headers, host: url.host },
    body: input.body,
  });
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(signed.headers)) out[name.toLowerCase()] = value;
  // The connection pool sets host from the cluster's authority (the same value).
  delete out.host;
  return out;
}
