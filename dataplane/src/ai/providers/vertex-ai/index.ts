// Vertex AI (publisher google): the Gemini body format at
// `{base}/v1/projects/{project}/locations/{location}/publishers/google/models/{model}:generateContent`,
// authorised with an OAuth token from the service-account key in the credentials, else an API key
// (x-goog-api-key) when one is given, else the ambient credentials of the metadata server. When no
// token can be had, the request is not sent: the caller gets the provider-auth error with the reason.
import { googleAdapter, modelSegment } from '../../formats/gemini/adapter.ts';
import { parseGeminiError } from '../../formats/gemini/errors.ts';
import { isRecord } from '../../formats/http.ts';
import {
  type PrepareInput,
  type ProviderAdapter,
  ProviderAuthError,
  ProviderRequestError,
} from '../types.ts';
import { fromPredictResponse, toPredictRequest } from './embeddings.ts';
import { ambientTokens, invalidateAmbientTokens } from './metadata.ts';
import { parseServiceAccountKey } from './service-account.ts';
import { invalidateServiceAccountTokens, tokensFor } from './token.ts';

function settings(input: PrepareInput): { project: string; location: string } {
  const vertex = input.target.options.vertex;
  if (!isRecord(vertex) || typeof vertex.project !== 'string' || typeof vertex.location !== 'string')
    throw new ProviderRequestError('the provider has no vertex.project and vertex.location');
  if (vertex.publisher !== undefined && vertex.publisher !== 'google')
    throw new ProviderRequestError(`vertex.publisher "${String(vertex.publisher)}" is not served yet`);
  return { project: vertex.project, location: vertex.location };
}

async function credentialHeaders(input: PrepareInput): Promise<Record<string, string>> {
  const { credentials } = input.target.ir;
  if (credentials.serviceAccountKey !== undefined) {
    const key = parseServiceAccountKey(credentials.serviceAccountKey);
    if (!key)
      throw new ProviderAuthError(
        'the Secret behind spec.auth.gcp.serviceAccountKeyRef does not hold a service-account JSON key',
      );
    try {
      return { authorization: `Bearer ${await tokensFor(key).token()}` };
    } catch (error) {
      // TokenError messages name the account and the endpoint's refusal, never the key or a token.
      throw new ProviderAuthError(
        `the OAuth token exchange for ${key.client_email} failed: ${(error as Error).message}`,
      );
    }
  }
  if (credentials.apiKey) return { 'x-goog-api-key': credentials.apiKey };
  try {
    return { authorization: `Bearer ${await ambientTokens().token()}` };
  } catch (error) {
    throw new ProviderAuthError(`no ambient Google access token: ${(error as Error).message}`);
  }
}

function modelPath(input: PrepareInput, method: string): string {
  const { project, location } = settings(input);
  return `${input.target.basePath}/v1/projects/${encodeURIComponent(project)}/locations/${encodeURIComponent(location)}/publishers/google/models/${modelSegment(input.model)}:${method}`;
}

const adapter = googleAdapter({
  types: ['vertex-ai'],
  path: (method, input) => modelPath(input, method),
  headers: credentialHeaders,
  embeddings: {
    path: (input) => modelPath(input, 'predict'),
    body: toPredictRequest,
    response: fromPredictResponse,
  },
});

export const vertexAIAdapter: ProviderAdapter = {
  ...adapter,
  parseError(status, headers, body) {
    // A refused token is dropped so the next request exchanges a new one.
    if (status === 401) {
      invalidateServiceAccountTokens();
      invalidateAmbientTokens();
    }
    return parseGeminiError(status, headers, body);
  },
};
