// Invalid manifests, each with the message parseObject must give. Shared by the schema tests and
// usable against a real API server (the CEL rules and bounds are the same there).
export const meta = { name: 'x', namespace: 'ns' };
export const route = (spec: unknown) => ({
  apiVersion: 'tollgate.dev/v1alpha1',
  kind: 'Route',
  metadata: meta,
  spec,
});
const provider = (spec: unknown) => ({
  apiVersion: 'tollgate.dev/v1alpha1',
  kind: 'AIProvider',
  metadata: meta,
  spec,
});
const consumer = (spec: unknown) => ({
  apiVersion: 'tollgate.dev/v1alpha1',
  kind: 'Consumer',
  metadata: meta,
  spec,
});
const policy = (spec: Record<string, unknown>) => ({
  apiVersion: 'tollgate.dev/v1alpha1',
  kind: 'Policy',
  metadata: meta,
  spec: { targetRefs: [{ kind: 'Route', name: 'r' }], ...spec },
});
const backend = { url: 'http://127.0.0.1:8080' };
const key = { name: 'k', key: 'v' };

/** [what is wrong, manifest, expected part of the message] */
export const invalidManifests: Array<[string, Record<string, unknown>, string]> = [
  // Route
  [
    'a backendRef with both name and url',
    route({ rules: [{ backendRefs: [{ name: 'svc', port: 80, url: 'http://127.0.0.1' }] }] }),
    'spec.rules[0].backendRefs[0]: set exactly one of name and url',
  ],
  [
    'a Service backendRef without port',
    route({ rules: [{ backendRefs: [{ name: 'svc' }] }] }),
    'spec.rules[0].backendRefs[0].port: port is required for a Service backend',
  ],
  [
    'a model on a Service backend',
    route({ rules: [{ backendRefs: [{ name: 'svc', port: 80, model: 'gpt-4o' }] }] }),
    'spec.rules[0].backendRefs[0].model: model applies only to an AIProvider backend',
  ],
  [
    'a bad hostname',
    route({ hostnames: ['Shop_Example.com'], rules: [{ backendRefs: [backend] }] }),
    'spec.hostnames[0]: must be a lowercase DNS name',
  ],
  [
    'a repeated hostname',
    route({ hostnames: ['a.example.com', 'a.example.com'], rules: [{ backendRefs: [backend] }] }),
    'spec.hostnames[1]: duplicate value "a.example.com"',
  ],
  [
    'a bad duration',
    route({ rules: [{ backendRefs: [backend], timeouts: { request: '10 seconds' } }] }),
    'spec.rules[0].timeouts.request: must be a duration such as "10s"',
  ],
  [
    'a rule with neither backends nor redirect',
    route({ rules: [{ matches: [{ path: { value: '/a' } }] }] }),
    'spec.rules[0]: a rule needs backendRefs or a RequestRedirect filter',
  ],
  [
    'a filter whose settings do not match its type',
    route({ rules: [{ backendRefs: [backend], filters: [{ type: 'URLRewrite', requestRedirect: {} }] }] }),
    'spec.rules[0].filters[0]: set exactly the field that matches type',
  ],
  [
    'a redirect and a rewrite in one rule',
    route({
      rules: [
        {
          filters: [
            { type: 'RequestRedirect', requestRedirect: { scheme: 'https' } },
            { type: 'URLRewrite', urlRewrite: { hostname: 'a.example.com' } },
          ],
        },
      ],
    }),
    'spec.rules[0].filters: a rule may have a RequestRedirect or a URLRewrite filter, not both',
  ],
  [
    'ReplacePrefixMatch with an Exact path match',
    route({
      rules: [
        {
          matches: [{ path: { type: 'Exact', value: '/a' } }],
          filters: [
            {
              type: 'URLRewrite',
              urlRewrite: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/' } },
            },
          ],
          backendRefs: [backend],
        },
      ],
    }),
    'spec.rules[0]: ReplacePrefixMatch needs at most one match',
  ],
  [
    'a path modifier missing its value',
    route({
      rules: [
        {
          backendRefs: [backend],
          filters: [{ type: 'URLRewrite', urlRewrite: { path: { type: 'ReplaceFullPath' } } }],
        },
      ],
    }),
    'spec.rules[0].filters[0].urlRewrite.path: replaceFullPath must be set',
  ],
  ['a Route without rules', route({ rules: [] }), 'spec.rules:'],
  // AIProvider
  ['an unknown provider type', provider({ type: 'skynet' }), 'spec.type:'],
  [
    'azure-openai without baseURL',
    provider({ type: 'azure-openai', auth: { secretRef: key } }),
    'spec.baseURL: baseURL is required for types azure-openai and openai-compatible',
  ],
  [
    'azure settings on an openai provider',
    provider({ type: 'openai', auth: { secretRef: key }, azure: {} }),
    'spec.azure: azure applies only to type azure-openai',
  ],
  [
    'bedrock without region settings',
    provider({ type: 'bedrock' }),
    'spec.bedrock: bedrock (with region) is required for type bedrock',
  ],
  [
    'a bad bedrock region',
    provider({ type: 'bedrock', bedrock: { region: 'Frankfurt' } }),
    'spec.bedrock.region: must be an AWS region',
  ],
  [
    'vertex-ai without project and location',
    provider({ type: 'vertex-ai' }),
    'spec.vertex: vertex (with project and location) is required for type vertex-ai',
  ],
  [
    'openai without an API key',
    provider({ type: 'openai' }),
    'spec.auth: auth.secretRef (the API key) is required',
  ],
  [
    'an API key and AWS credentials together',
    provider({
      type: 'bedrock',
      bedrock: { region: 'us-east-1' },
      auth: { secretRef: key, aws: { accessKeyIdRef: key, secretAccessKeyRef: key } },
    }),
    'spec.auth: set at most one of secretRef, aws and gcp',
  ],
  [
    'AWS credentials on a provider that is not bedrock',
    provider({
      type: 'openai-compatible',
      baseURL: 'http://llm.example.com/v1',
      auth: { aws: { accessKeyIdRef: key, secretAccessKeyRef: key } },
    }),
    'spec.auth: auth.aws applies only to type bedrock',
  ],
  [
    'a price written as a number',
    provider({
      type: 'ollama',
      models: [{ name: 'm', pricing: { inputPerMillion: 2.5, outputPerMillion: '1' } }],
    }),
    'spec.models[0].pricing.inputPerMillion:',
  ],
  [
    'a price that is not a decimal',
    provider({
      type: 'ollama',
      models: [{ name: 'm', pricing: { inputPerMillion: '1.2.3', outputPerMillion: '1' } }],
    }),
    'spec.models[0].pricing.inputPerMillion: must be a non-negative decimal number',
  ],
  [
    'a lowercase currency',
    provider({
      type: 'ollama',
      models: [{ name: 'm', pricing: { currency: 'usd', inputPerMillion: '1', outputPerMillion: '1' } }],
    }),
    'spec.models[0].pricing.currency: must be an ISO 4217 currency code',
  ],
  [
    'two models with the same name',
    provider({ type: 'ollama', models: [{ name: 'm' }, { name: 'm' }] }),
    'spec.models[1].name: duplicate name "m"',
  ],
  [
    'an alias that is another model name',
    provider({ type: 'ollama', models: [{ name: 'a', aliases: ['b'] }, { name: 'b' }] }),
    'spec.models: an alias must not be the name of a model of this provider',
  ],
  [
    'an alias shared by two models',
    provider({
      type: 'ollama',
      models: [
        { name: 'a', aliases: ['x'] },
        { name: 'b', aliases: ['x'] },
      ],
    }),
    'spec.models: an alias may belong to one model only',
  ],
  [
    'a repeated alias',
    provider({ type: 'ollama', models: [{ name: 'a', aliases: ['x', 'x'] }] }),
    'spec.models[0].aliases[1]: duplicate value "x"',
  ],
  [
    'a baseURL without scheme',
    provider({ type: 'ollama', baseURL: 'localhost:11434' }),
    'spec.baseURL: must be an absolute',
  ],
  // Consumer
  [
    'more than 16 API keys',
    consumer({ apiKeys: Array.from({ length: 17 }, (_, i) => ({ secretRef: { name: 's', key: `k${i}` } })) }),
    'spec.apiKeys:',
  ],
  [
    'two API keys with the same name',
    consumer({
      apiKeys: [
        { name: 'a', secretRef: key },
        { name: 'a', secretRef: key },
      ],
    }),
    'spec.apiKeys: API key names must be unique',
  ],
  [
    'metadata with too many entries',
    consumer({ metadata: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v'])) }),
    'spec.metadata: must have at most 32 entries',
  ],
  ['a team with spaces', consumer({ team: 'data science' }), 'spec.team:'],
  // Policy
  [
    'a policy with no section',
    policy({}),
    'spec: a policy needs at least one of authentication, authorization, rateLimits',
  ],
  ['a policy without targets', policy({ targetRefs: [], timeouts: { request: '1s' } }), 'spec.targetRefs:'],
  [
    'a target of an unsupported kind',
    policy({ targetRefs: [{ kind: 'Service', name: 's' }], timeouts: { request: '1s' } }),
    'spec.targetRefs[0].kind:',
  ],
  [
    'a sectionName on an AIProvider target',
    policy({
      targetRefs: [{ kind: 'AIProvider', name: 'p', sectionName: 'x' }],
      timeouts: { request: '1s' },
    }),
    'spec.targetRefs[0].sectionName: sectionName applies only to a Route target',
  ],
  [
    'a Route target in a foreign group',
    policy({ targetRefs: [{ group: 'example.com', kind: 'Route', name: 'r' }], timeouts: { request: '1s' } }),
    'spec.targetRefs[0].group: group must be tollgate.dev',
  ],
  [
    'the same target twice',
    policy({
      targetRefs: [
        { kind: 'Route', name: 'r' },
        { kind: 'Route', name: 'r' },
      ],
      timeouts: { request: '1s' },
    }),
    'spec.targetRefs: targetRefs must be unique',
  ],
  [
    'a rate limit on both requests and tokens',
    policy({
      rateLimits: [{ name: 'a', requests: { limit: 1, window: '1s' }, tokens: { limit: 1, window: '1s' } }],
    }),
    'spec.rateLimits[0]: set exactly one of requests and tokens',
  ],
  [
    'a rate limit on neither requests nor tokens',
    policy({ rateLimits: [{ name: 'a' }] }),
    'spec.rateLimits[0]: set exactly one of requests and tokens',
  ],
  [
    'a header-keyed rate limit without header',
    policy({ rateLimits: [{ name: 'a', key: 'header', requests: { limit: 1, window: '1s' } }] }),
    'spec.rateLimits[0].header: header is required with key: header',
  ],
  [
    'two rate limits with the same name',
    policy({
      rateLimits: [
        { name: 'a', requests: { limit: 1, window: '1s' } },
        { name: 'a', requests: { limit: 2, window: '1s' } },
      ],
    }),
    'spec.rateLimits[1].name: duplicate name "a"',
  ],
  [
    'a budget in both tokens and cost',
    policy({ budgets: [{ name: 'b', tokens: { limit: 1 }, cost: { amount: '1' } }] }),
    'spec.budgets[0]: set exactly one of tokens and cost',
  ],
  [
    'a budget in an unknown time zone',
    policy({ budgets: [{ name: 'b', cost: { amount: '1' }, timeZone: 'Mars/Olympus_Mons' }] }),
    'spec.budgets[0].timeZone: is not a time zone known to the IANA database',
  ],
  [
    'a budget amount written as a float',
    policy({ budgets: [{ name: 'b', cost: { amount: 9.99 } }] }),
    'spec.budgets[0].cost.amount:',
  ],
  [
    'a malformed CIDR',
    policy({ ipFilter: { allow: ['10.0.0.0/33'] } }),
    'spec.ipFilter.allow[0]: must be a CIDR block',
  ],
  ['an empty IP filter', policy({ ipFilter: {} }), 'spec.ipFilter: set allow, deny or both'],
  [
    'CORS credentials with any origin',
    policy({ cors: { allowOrigins: ['*'], allowCredentials: true } }),
    'spec.cors.allowOrigins: allowCredentials cannot be combined with the origin "*"',
  ],
  [
    'an authorization rule without criteria',
    policy({ authorization: { rules: [{ action: 'allow' }] } }),
    'spec.authorization.rules[0]: a rule needs at least one of consumers, teams, tenants, models and claims',
  ],
  ['an empty authentication', policy({ authentication: {} }), 'spec.authentication: set apiKey, jwt or both'],
  [
    'a JWT issuer without JWKS',
    policy({ authentication: { jwt: { issuer: 'https://issuer' } } }),
    'spec.authentication.jwt: set exactly one of jwksURI, jwks and discovery: true',
  ],
  [
    'a JWT with two key sources',
    policy({
      authentication: { jwt: { issuer: 'https://issuer', jwksURI: 'https://issuer/keys', discovery: true } },
    }),
    'spec.authentication.jwt: set exactly one of jwksURI, jwks and discovery: true',
  ],
  [
    'a budget in both tokens and money',
    policy({ budgets: [{ name: 'b', tokens: { limit: 10 }, cost: { amount: '1.00' } }] }),
    'spec.budgets[0]: set exactly one of tokens and cost',
  ],
  [
    'a deny pattern that is not a regular expression',
    policy({ guardrails: { denyPatterns: ['(unclosed'] } }),
    'spec.guardrails.denyPatterns[0]: must be a valid regular expression',
  ],
  ['an unknown retry condition', policy({ retries: { retryOn: ['always'] } }), 'spec.retries.retryOn[0]:'],
  [
    'a health-check path without leading slash',
    policy({ healthCheck: { active: { path: 'healthz' } } }),
    'spec.healthCheck.active.path: must start with "/"',
  ],
];
