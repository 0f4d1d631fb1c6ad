// A mock of Google's Gemini API (AI Studio: `/v1beta/models/{model}:generateContent`, API key in
// x-goog-api-key) and of Vertex AI (`/v1/projects/{p}/locations/{l}/publishers/google/models/
// {model}:generateContent`, OAuth bearer token). The Vertex variant also serves the OAuth2 token
// endpoint of a test service account: it verifies the RS256 JWT assertion with the account's
// public key and issues short-lived access tokens the generateContent calls must carry; and, for
// ambient credentials, the metadata server's token path (point GCE_METADATA_HOST at the mock). Streams
// are `:streamGenerateContent?alt=sse` (one whole GenerateContentResponse per event); errors use
// Google's `{"error":{"code","message","status"}}` shape.
import { generateKeyPairSync, randomUUID, verify } from 'node:crypto';
import { type Conversation, type Counts, countTokens, pieces, type Reply, replyTo, words } from './script.ts';
import { type MockExchange, sendJson, startMockServer } from './server.ts';
import { SSEWriter } from './sse.ts';
import type { MockProvider, MockProviderOptions, MockUsage } from './types.ts';

export type GeminiVariant = 'gemini' | 'vertex-ai';

export interface GeminiMockOptions extends MockProviderOptions {
  variant?: GeminiVariant;
  /** Lifetime of the access tokens the token endpoint issues (vertex-ai), in seconds. */
  tokenLifetimeSeconds?: number;
}

export interface GeminiMock extends MockProvider {
  /** vertex-ai: the service-account JSON key (its token_uri points at this mock). */
  readonly serviceAccountKey: string;
  /** vertex-ai: token requests received (token endpoint and metadata server, granted or not). */
  readonly tokenRequests: number;
  /** vertex-ai: makes every issued token invalid (as if revoked or expired at the provider). */
  revokeTokens(): void;
}

const STATUS_NAMES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

function errorBody(status: number, message: string): string {
  return JSON.stringify({ error: { code: status, message, status: STATUS_NAMES[status] ?? 'UNKNOWN' } });
}

type Part = Record<string, unknown>;

function partText(part: Part): string {
  if (typeof part.text === 'string') return part.text;
  const response = part.functionResponse as { response?: { content?: unknown } } | undefined;
  if (response) {
    const content = response.response?.content;
    return typeof content === 'string' ? content : JSON.stringify(response.response ?? {});
  }
  return '';
}

function conversationOf(body: Record<string, unknown>): Conversation {
  const contents = Array.isArray(body.contents) ? (body.contents as Array<Record<string, unknown>>) : [];
  const partsOf = (c: Record<string, unknown> | undefined): Part[] =>
    Array.isArray(c?.parts) ? (c.parts as Part[]) : [];
  const last = contents.at(-1);
  const lastParts = partsOf(last);
  const toolResult = lastParts.find((p) => p.functionResponse !== undefined);
  const system = partsOf(body.systemInstruction as Record<string, unknown> | undefined)
    .map(partText)
    .join(' ');
  const tools = Array.isArray(body.tools)
    ? (body.tools as Array<{ functionDeclarations?: Array<{ name?: string }> }>)
    : [];
  const mode = (body.toolConfig as { functionCallingConfig?: { mode?: string } } | undefined)
    ?.functionCallingConfig?.mode;
  return {
    promptTexts: [system, ...contents.flatMap((c) => partsOf(c).map(partText))],
    lastRole: last?.role === 'model' ? 'assistant' : toolResult ? 'tool' : 'user',
    lastText: toolResult ? partText(toolResult) : lastParts.map(partText).join(' '),
    toolNames: tools.flatMap((t) => t.functionDeclarations ?? []).map((d) => d.name ?? ''),
    toolsRefused: mode === 'NONE',
  };
}

/** Gemini's promptTokenCount includes the cached part; thoughts are counted apart from candidates. */
function usageMetadata(counts: Counts): Record<string, number> {
  return {
    promptTokenCount: counts.input,
    candidatesTokenCount: counts.output - counts.reasoning,
    totalTokenCount: counts.input + counts.output,
    cachedContentTokenCount: counts.cached,
    thoughtsTokenCount: counts.reasoning,
  };
}

const METADATA_TOKEN_PATH = '/computeMetadata/v1/instance/service-accounts/default/token';
const GEMINI_PATH =
  /^\/v1beta\/models\/(.+):(generateContent|streamGenerateContent|predict|batchEmbedContents)$/;
const VERTEX_PATH =
  /^\/v1\/projects\/([^/]+)\/locations\/([^/]+)\/publishers\/google\/models\/(.+):(generateContent|streamGenerateContent|predict)$/;

export async function startGeminiMock(options: GeminiMockOptions = {}): Promise<GeminiMock> {
  const variant = options.variant ?? 'gemini';
  const apiKey = options.apiKey ?? 'AIza-mock-0123456789';
  const reportsUsage = options.usage !== false;
  const lifetime = options.tokenLifetimeSeconds ?? 3600;
  const reported: MockUsage[] = [];
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const clientEmail = 'gateway@tollgate-test.iam.gserviceaccount.com';
  const tokens = new Map<string, number>();
  let tokenRequests = 0;
  let sequence = 0;
  let baseURL = '';

  function grantToken(exchange: MockExchange, form: URLSearchParams): void {
    tokenRequests++;
    const refusal = checkAssertion(form);
    if (refusal) {
      sendJson(exchange.res, 400, { error: 'invalid_grant', error_description: refusal });
      return;
    }
    const token = `ya29.mock-${randomUUID()}`;
    tokens.set(token, Date.now() + lifetime * 1000);
    sendJson(exchange.res, 200, { access_token: token, expires_in: lifetime, token_type: 'Bearer' });
  }

  /** Why the JWT-bearer grant is refused, or undefined when the assertion is good. */
  function checkAssertion(form: URLSearchParams): string | undefined {
    if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer')
      return 'unsupported grant_type';
    const [head, payload, signature] = (form.get('assertion') ?? '').split('.');
    if (!head || !payload || !signature) return 'malformed assertion';
    const signed = Buffer.from(`${head}.${payload}`);
    if (!verify('RSA-SHA256', signed, publicKey, Buffer.from(signature, 'base64url')))
      return 'Invalid JWT Signature.';
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    const now = Math.floor(Date.now() / 1000);
    if (claims.iss !== clientEmail || claims.aud !== `${baseURL}/token`) return 'wrong iss or aud';
    if (typeof claims.exp !== 'number' || claims.exp < now) return 'assertion expired';
    if (typeof claims.scope !== 'string' || !claims.scope.includes('cloud-platform')) return 'scope missing';
    return undefined;
  }

  /** The metadata server's token for the ambient service account (GCE_METADATA_HOST points here). */
  function metadataToken(exchange: MockExchange): void {
    tokenRequests++;
    if (exchange.req.headers['metadata-flavor'] !== 'Google') {
      sendJson(exchange.res, 403, { error: 'Missing Metadata-Flavor:Google header.' });
      return;
    }
    const token = `ya29.mock-${randomUUID()}`;
    tokens.set(token, Date.now() + lifetime * 1000);
    sendJson(exchange.res, 200, { access_token: token, expires_in: lifetime, token_type: 'Bearer' });
  }

  function authorized(exchange: MockExchange): boolean {
    const { req } = exchange;
    // Vertex AI's express mode takes an API key too.
    if (req.headers['x-goog-api-key'] === apiKey) return true;
    if (variant !== 'vertex-ai') return false;
    const auth = req.headers.authorization ?? '';
    const token = auth.startsWith('Bearer ') ? auth.slice(7) : '';
    const expires = tokens.get(token);
    return expires !== undefined && expires > Date.now();
  }

  const server = await startMockServer(options.port ?? 0, {
    errorBody,
    faultFree: (url) => url.pathname === '/token',
    async handle(exchange) {
      const { req, res, url, body } = exchange;
      if (variant === 'vertex-ai' && url.pathname === '/token' && req.method === 'POST') {
        // The shared server parsed JSON only; the token request is a form.
        return grantToken(exchange, new URLSearchParams(exchange.text));
      }
      if (variant === 'vertex-ai' && url.pathname === METADATA_TOKEN_PATH && req.method === 'GET')
        return metadataToken(exchange);
      const match = variant === 'gemini' ? GEMINI_PATH.exec(url.pathname) : VERTEX_PATH.exec(url.pathname);
      if (!match || req.method !== 'POST') return sendJson(res, 404, JSON.parse(errorBody(404, 'Not found')));
      if (!authorized(exchange))
        return sendJson(
          res,
          401,
          JSON.parse(errorBody(401, 'Request had invalid authentication credentials.')),
        );
      const model = decodeURIComponent(variant === 'gemini' ? match[1]! : match[3]!);
      const method = variant === 'gemini' ? match[2] : match[4];
      if (method === 'predict') return predict(exchange);
      if (method === 'batchEmbedContents') return batchEmbed(exchange, model);
      if (!body || !Array.isArray(body.contents) || body.contents.length === 0)
        return sendJson(res, 400, JSON.parse(errorBody(400, 'contents is not specified')));
      const conversation = conversationOf(body);
      const reply = replyTo(conversation);
      const counts = countTokens(conversation, reply, { cacheWrite: false, reasoning: true });
      const id = `resp-mock-${++sequence}`;
      if (method === 'streamGenerateContent') {
        if (url.searchParams.get('alt') !== 'sse')
          return sendJson(res, 400, JSON.parse(errorBody(400, 'the mock streams only with alt=sse')));
        return stream(exchange, id, model, reply, counts);
      }
      if (reportsUsage) reported.push(mockUsage(counts));
      sendJson(res, 200, {
        candidates: [
          {
            content: { role: 'model', parts: replyParts(reply) },
            finishReason: 'STOP',
            index: 0,
          },
        ],
        ...(reportsUsage ? { usageMetadata: usageMetadata(counts) } : {}),
        modelVersion: model,
        responseId: id,
      });
    },
  });
  baseURL = `http://127.0.0.1:${server.port}`;

  /** Vertex AI text embeddings: a vector and a token count per instance. */
  function predict(exchange: MockExchange): void {
    const instances = Array.isArray(exchange.body?.instances)
      ? (exchange.body.instances as Array<{ content?: unknown }>)
      : [];
    if (instances.length === 0 || !instances.every((i) => typeof i.content === 'string')) {
      sendJson(exchange.res, 400, JSON.parse(errorBody(400, 'instances[].content is required')));
      return;
    }
    const dimensions = (exchange.body?.parameters as { outputDimensionality?: number } | undefined)
      ?.outputDimensionality;
    const predictions = instances.map((instance, index) => {
      const tokenCount = words(String(instance.content)) + 1;
      return {
        embeddings: {
          values: Array.from({ length: dimensions ?? 8 }, (_, d) => (index + 1) / (d + 2)),
          statistics: { truncated: false, token_count: tokenCount },
        },
      };
    });
    const input = predictions.reduce((n, p) => n + p.embeddings.statistics.token_count, 0);
    reported.push({
      inputTokens: input,
      outputTokens: 0,
      cachedInputTokens: 0,
      cacheWriteTokens: 0,
      reasoningTokens: 0,
    });
    sendJson(exchange.res, 200, { predictions, metadata: { billableCharacterCount: input * 4 } });
  }

  /**
   * Gemini (AI Studio) batch embeddings: a vector per request, no token counts (the API reports
   * none). `reported` records what the gateway's estimate is checked against: nothing.
   */
  function batchEmbed(exchange: MockExchange, model: string): void {
    const requests = Array.isArray(exchange.body?.requests)
      ? (exchange.body.requests as Array<Record<string, unknown>>)
      : [];
    const bad = requests.find(
      (r) =>
        r.model !== `models/${model}` ||
        !Array.isArray((r.content as { parts?: unknown } | undefined)?.parts),
    );
    if (requests.length === 0 || bad) {
      const reason = bad
        ? `requests[].model must be "models/${model}" with content.parts`
        : 'requests is required';
      sendJson(exchange.res, 400, JSON.parse(errorBody(400, reason)));
      return;
    }
    const embeddings = requests.map((r, index) => ({
      values: Array.from(
        { length: typeof r.outputDimensionality === 'number' ? r.outputDimensionality : 8 },
        (_, d) => (index + 1) / (d + 2),
      ),
    }));
    sendJson(exchange.res, 200, { embeddings });
  }

  function replyParts(reply: Reply): Part[] {
    return reply.kind === 'text'
      ? [{ text: reply.text }]
      : [{ functionCall: { name: reply.name, args: JSON.parse(reply.arguments) as unknown } }];
  }

  function mockUsage(counts: Counts): MockUsage {
    return {
      inputTokens: counts.input,
      outputTokens: counts.output,
      cachedInputTokens: counts.cached,
      cacheWriteTokens: 0,
      reasoningTokens: counts.reasoning,
    };
  }

  async function stream(
    exchange: MockExchange,
    id: string,
    model: string,
    reply: Reply,
    counts: Counts,
  ): Promise<void> {
    const sse = new SSEWriter(exchange.res, options.framing, exchange.cutAfter);
    const send = (data: unknown) => sse.send(undefined, JSON.stringify(data));
    if (exchange.streamError) {
      await send({ error: { code: 503, message: exchange.streamError, status: 'UNAVAILABLE' } });
      return sse.end();
    }
    const partsToSend: Part[][] =
      reply.kind === 'text' ? pieces(reply.text).map((text) => [{ text }]) : [replyParts(reply)];
    // Every chunk carries the usage so far: the prompt at once, the candidates as they grow.
    let index = 0;
    for (const parts of partsToSend) {
      const last = ++index === partsToSend.length;
      await send({
        candidates: [
          { content: { role: 'model', parts }, index: 0, ...(last ? { finishReason: 'STOP' } : {}) },
        ],
        ...(reportsUsage
          ? {
              usageMetadata: last
                ? usageMetadata(counts)
                : { promptTokenCount: counts.input, totalTokenCount: counts.input },
            }
          : {}),
        modelVersion: model,
        responseId: id,
      });
    }
    if (reportsUsage) reported.push(mockUsage(counts));
    await sse.end();
  }

  const serviceAccountKey = JSON.stringify({
    type: 'service_account',
    project_id: 'tollgate-test',
    private_key_id: 'mock-key-1',
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    client_email: clientEmail,
    client_id: '1000000000001',
    token_uri: `${baseURL}/token`,
  });

  return {
    baseURL,
    apiKey: variant === 'vertex-ai' ? serviceAccountKey : apiKey,
    serviceAccountKey,
    get tokenRequests() {
      return tokenRequests;
    },
    revokeTokens: () => tokens.clear(),
    requests: server.requests,
    reported,
    enqueue: server.enqueue,
    close: server.close,
  };
}
