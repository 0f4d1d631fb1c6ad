// AIProvider: one LLM endpoint, its credentials, the models it serves (with prices), and the
// provider-level limits, health check and timeouts.
import { z } from 'zod';
import { listMap, listSet, withRules } from './cel.ts';
import { currency, decimal, duration, httpURL, ObjectMeta, ObjectStatus, SecretKeyRef } from './common.ts';

export const aiProviderTypes = [
  'openai',
  'azure-openai',
  'anthropic',
  'gemini',
  'vertex-ai',
  'bedrock',
  'mistral',
  'ollama',
  'openai-compatible',
] as const;
export type AIProviderType = (typeof aiProviderTypes)[number];

/**
 * Where each provider type is reached when baseURL is not set. azure-openai and openai-compatible
 * have no default (a CEL rule requires baseURL); vertex-ai and bedrock derive it from their location/region.
 */
export const defaultBaseURLs: Readonly<Record<AIProviderType, string | undefined>> = {
  openai: 'https://api.openai.com/v1',
  'azure-openai': undefined,
  anthropic: 'https://api.anthropic.com',
  gemini: 'https://generativelanguage.googleapis.com',
  'vertex-ai': 'https://{location}-aiplatform.googleapis.com',
  bedrock: 'https://bedrock-runtime.{region}.amazonaws.com',
  mistral: 'https://api.mistral.ai/v1',
  ollama: 'http://localhost:11434',
  'openai-compatible': undefined,
};

/** Provider types that authenticate with an API key read from auth.secretRef. */
export const apiKeyProviderTypes = ['openai', 'azure-openai', 'anthropic', 'gemini', 'mistral'] as const;

const modelName = z.string().min(1).max(128);

export const ModelPricing = z
  .object({
    currency,
    inputPerMillion: decimal.meta({
      description: 'Price of one million input (prompt) tokens, e.g. "2.50".',
    }),
    outputPerMillion: decimal.meta({
      description: 'Price of one million output (completion) tokens, e.g. "10".',
    }),
    cachedInputPerMillion: decimal.optional().meta({
      description:
        'Price of one million input tokens served from the provider prompt cache. Defaults to inputPerMillion.',
    }),
    cacheWritePerMillion: decimal.optional().meta({
      description:
        'Price of one million input tokens written to the provider prompt cache. Defaults to inputPerMillion.',
    }),
  })
  .meta({
    description:
      'Prices used to meter cost and enforce cost budgets. Amounts are decimal strings ("0.15"), never floating point.',
  });
export type ModelPricing = z.infer<typeof ModelPricing>;

export const AIModel = z
  .object({
    name: modelName.meta({ description: 'Model name as the provider knows it (sent upstream).' }),
    aliases: listSet(z.array(modelName).max(8))
      .optional()
      .meta({ description: 'Other names clients may use for this model. Unique across the provider.' }),
    pricing: ModelPricing.optional(),
    contextWindow: z
      .number()
      .int()
      .min(1)
      .max(100_000_000)
      .optional()
      .meta({ description: 'Largest number of tokens (input + output) the model accepts.' }),
    maxOutputTokens: z
      .number()
      .int()
      .min(1)
      .max(100_000_000)
      .optional()
      .meta({ description: 'Largest number of tokens the model generates in one response.' }),
  })
  .meta({ description: 'A model served by this provider.' });
export type AIModel = z.infer<typeof AIModel>;

export const AWSCredentials = z
  .object({
    accessKeyIdRef: SecretKeyRef.meta({ description: 'Secret key holding the AWS access key id.' }),
    secretAccessKeyRef: SecretKeyRef.meta({ description: 'Secret key holding the AWS secret access key.' }),
    sessionTokenRef: SecretKeyRef.optional().meta({
      description: 'Secret key holding an AWS session token, for temporary credentials.',
    }),
  })
  .meta({
    description:
      'Static AWS credentials for bedrock. Without them the data plane uses its ambient AWS credentials (environment, web identity, instance role).',
  });
export type AWSCredentials = z.infer<typeof AWSCredentials>;

export const GCPCredentials = z
  .object({
    serviceAccountKeyRef: SecretKeyRef.meta({
      description: 'Secret key holding a service-account JSON key.',
    }),
  })
  .meta({
    description:
      'Service-account credentials for vertex-ai. Without them the data plane uses its ambient Google credentials (workload identity).',
  });
export type GCPCredentials = z.infer<typeof GCPCredentials>;

export const AIProviderAuth = withRules(
  z
    .object({
      secretRef: SecretKeyRef.optional().meta({
        description:
          'Secret key holding the API key, sent the way the provider type expects (Authorization: Bearer, x-api-key, api-key or key).',
      }),
      aws: AWSCredentials.optional(),
      gcp: GCPCredentials.optional(),
    })
    .meta({
      description: 'Credentials, read from Secrets in the same namespace. Set at most one of the fields.',
    }),
  [
    {
      rule: '(has(self.secretRef) ? 1 : 0) + (has(self.aws) ? 1 : 0) + (has(self.gcp) ? 1 : 0) <= 1',
      message: 'set at most one of secretRef, aws and gcp',
    },
  ],
);
export type AIProviderAuth = z.infer<typeof AIProviderAuth>;

export const AzureDeployment = z
  .object({
    model: modelName.meta({ description: 'Model name (a models[].name) as clients and routes know it.' }),
    deployment: z
      .string()
      .min(1)
      .max(64)
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, {
        message: 'must be an Azure deployment name (letters, digits, "_", "-", ".")',
      })
      .meta({ description: 'Name of the Azure OpenAI deployment serving that model.' }),
  })
  .meta({ description: 'Maps a model to the Azure deployment that serves it.' });
export type AzureDeployment = z.infer<typeof AzureDeployment>;

export const AzureOpenAISettings = z
  .object({
    apiVersion: z
      .string()
      .max(32)
      .regex(/^[0-9]{4}-[0-9]{2}-[0-9]{2}(-preview)?$/, {
        message: 'must be an API version such as "2024-10-21"',
      })
      .default('2024-10-21')
      .meta({ description: 'The api-version query parameter sent with every request.' }),
    deployments: listMap(z.array(AzureDeployment).max(128), ['model']).optional().meta({
      description:
        'Deployment per model. A model without an entry is sent to the deployment of the same name.',
    }),
  })
  .meta({ description: 'Settings of type azure-openai.' });
export type AzureOpenAISettings = z.infer<typeof AzureOpenAISettings>;

export const BedrockSettings = z
  .object({
    region: z
      .string()
      .max(32)
      .regex(/^[a-z]{2}(-[a-z]+)+-[0-9]+$/, { message: 'must be an AWS region such as "us-east-1"' })
      .meta({ description: 'AWS region of the Bedrock runtime, e.g. "us-east-1".' }),
  })
  .meta({ description: 'Settings of type bedrock.' });
export type BedrockSettings = z.infer<typeof BedrockSettings>;

export const VertexAISettings = z
  .object({
    project: z
      .string()
      .min(6)
      .max(30)
      .regex(/^[a-z][-a-z0-9]*[a-z0-9]$/, { message: 'must be a Google Cloud project id' })
      .meta({ description: 'Google Cloud project id.' }),
    location: z
      .string()
      .min(1)
      .max(32)
      .regex(/^[a-z]+(-[a-z0-9]+)*$/, {
        message: 'must be a Google Cloud location such as "us-central1" or "global"',
      })
      .meta({ description: 'Google Cloud location (region) such as "us-central1", or "global".' }),
    publisher: z
      .enum(['google', 'anthropic', 'meta', 'mistralai'])
      .default('google')
      .meta({ description: 'Publisher of the models served, which decides the request format.' }),
  })
  .meta({ description: 'Settings of type vertex-ai.' });
export type VertexAISettings = z.infer<typeof VertexAISettings>;

export const ProviderLimits = z
  .object({
    requestsPerMinute: z
      .number()
      .int()
      .min(1)
      .max(100_000_000)
      .optional()
      .meta({ description: 'Most requests per minute sent to this provider, across all consumers.' }),
    tokensPerMinute: z.number().int().min(1).max(1_000_000_000_000).optional().meta({
      description: 'Most tokens (input + output) per minute sent to this provider, across all consumers.',
    }),
    maxConcurrentRequests: z
      .number()
      .int()
      .min(1)
      .max(1_000_000)
      .optional()
      .meta({ description: 'Most requests in flight to this provider at once, per data-plane pod.' }),
  })
  .meta({
    description:
      'Provider-level limits, enforced by each data-plane pod on its own. A request over them goes to the next backend, or gets 429 when none is left.',
  });
export type ProviderLimits = z.infer<typeof ProviderLimits>;

export const ProviderHealthCheck = z
  .object({
    enabled: z.boolean().default(true).meta({ description: 'Whether the provider is probed.' }),
    interval: duration.default('30s').meta({ description: 'Time between probes.' }),
    timeout: duration.default('5s').meta({ description: 'Deadline of one probe.' }),
    unhealthyThreshold: z
      .number()
      .int()
      .min(1)
      .max(100)
      .default(3)
      .meta({ description: 'Consecutive failed probes after which the provider is taken out of rotation.' }),
    healthyThreshold: z
      .number()
      .int()
      .min(1)
      .max(100)
      .default(1)
      .meta({ description: 'Consecutive successful probes after which it is put back.' }),
  })
  .meta({ description: "Active health check: a cheap request to the provider's model list endpoint." });
export type ProviderHealthCheck = z.infer<typeof ProviderHealthCheck>;

export const ProviderTimeouts = z
  .object({
    request: duration.optional().meta({
      description:
        "Deadline for one attempt to this provider, until its answer starts; then the next backend is tried. The shorter of this and the rule's timeouts.backendRequest applies.",
    }),
    connect: duration.optional().meta({
      description:
        "Deadline for opening a connection to this provider (TCP and TLS, or waiting for a pooled one); then the next backend is tried. Without it, and never longer than, the data plane's pool connect timeout (5s).",
    }),
  })
  .meta({ description: 'Timeouts for requests to this provider.' });
export type ProviderTimeouts = z.infer<typeof ProviderTimeouts>;

const providerModels = withRules(
  listMap(z.array(AIModel).max(64), ['name']).meta({
    description:
      'The models this provider serves. Requests for other models are refused when the list is set.',
  }),
  [
    {
      rule: 'self.all(m, !has(m.aliases) || m.aliases.all(a, !self.exists(n, n.name == a)))',
      message: 'an alias must not be the name of a model of this provider',
    },
    {
      rule: 'self.all(m, !has(m.aliases) || m.aliases.all(a, self.exists_one(n, has(n.aliases) && a in n.aliases)))',
      message: 'an alias may belong to one model only',
    },
  ],
);

export const AIProviderSpec = withRules(
  z
    .object({
      type: z.enum(aiProviderTypes).meta({ description: 'The provider API spoken by baseURL.' }),
      baseURL: httpURL.optional().meta({
        description:
          'Base URL of the provider API. Defaults per type: openai https://api.openai.com/v1, anthropic https://api.anthropic.com, gemini https://generativelanguage.googleapis.com, mistral https://api.mistral.ai/v1, ollama http://localhost:11434, vertex-ai https://{location}-aiplatform.googleapis.com, bedrock https://bedrock-runtime.{region}.amazonaws.com. Required for azure-openai (https://{resource}.openai.azure.com) and openai-compatible.',
      }),
      auth: AIProviderAuth.optional(),
      azure: AzureOpenAISettings.optional(),
      bedrock: BedrockSettings.optional(),
      vertex: VertexAISettings.optional(),
      models: providerModels.optional(),
      limits: ProviderLimits.optional(),
      healthCheck: ProviderHealthCheck.optional(),
      timeouts: ProviderTimeouts.optional(),
    })
    .meta({ description: 'Desired state of an AI provider endpoint.' }),
  [
    {
      rule: "!(self.type in ['azure-openai', 'openai-compatible']) || has(self.baseURL)",
      message: 'baseURL is required for types azure-openai and openai-compatible',
      fieldPath: '.baseURL',
      reason: 'FieldValueRequired',
    },
    {
      rule: "!has(self.azure) || self.type == 'azure-openai'",
      message: 'azure applies only to type azure-openai',
      fieldPath: '.azure',
      reason: 'FieldValueForbidden',
    },
    {
      rule: "(self.type == 'bedrock') == has(self.bedrock)",
      message: 'bedrock (with region) is required for type bedrock, and applies to no other type',
      fieldPath: '.bedrock',
    },
    {
      rule: "(self.type == 'vertex-ai') == has(self.vertex)",
      message:
        'vertex (with project and location) is required for type vertex-ai, and applies to no other type',
      fieldPath: '.vertex',
    },
    {
      rule: "!(self.type in ['openai', 'azure-openai', 'anthropic', 'gemini', 'mistral']) || (has(self.auth) && has(self.auth.secretRef))",
      message: 'auth.secretRef (the API key) is required for this provider type',
      fieldPath: '.auth',
      reason: 'FieldValueRequired',
    },
    {
      rule: "!has(self.auth) || !has(self.auth.aws) || self.type == 'bedrock'",
      message: 'auth.aws applies only to type bedrock',
      fieldPath: '.auth',
      reason: 'FieldValueForbidden',
    },
    {
      rule: "!has(self.auth) || !has(self.auth.gcp) || self.type == 'vertex-ai'",
      message: 'auth.gcp applies only to type vertex-ai',
      fieldPath: '.auth',
      reason: 'FieldValueForbidden',
    },
  ],
);
export type AIProviderSpec = z.infer<typeof AIProviderSpec>;

export const AIProvider = z
  .object({
    apiVersion: z.literal('tollgate.dev/v1alpha1'),
    kind: z.literal('AIProvider'),
    metadata: ObjectMeta,
    spec: AIProviderSpec,
    status: ObjectStatus.optional(),
  })
  .meta({
    description:
      'AIProvider is one LLM endpoint: its API type, base URL and credentials, the models it serves with their prices, and provider-level limits, health check and timeouts. Routes send AI traffic to it with backendRefs of kind AIProvider.',
  });
export type AIProvider = z.infer<typeof AIProvider>;
