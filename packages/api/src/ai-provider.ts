// AIProvider: one LLM endpoint, its credentials and the models it serves.
// Core fields; the API helper extends this into the full shape.
import { z } from 'zod';
import { ObjectMeta, ObjectStatus, SecretKeyRef } from './common.ts';

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

export const AIModel = z
  .object({
    name: z.string().min(1).max(256).meta({ description: 'Model name as the provider knows it.' }),
    aliases: z.array(z.string().min(1).max(256)).max(16).optional().meta({ description: 'Other names clients may use.' }),
  })
  .meta({ description: 'A model served by this provider.' });
export type AIModel = z.infer<typeof AIModel>;

export const AIProviderSpec = z.object({
  type: z.enum(aiProviderTypes).meta({ description: 'The provider API spoken by baseURL.' }),
  baseURL: z.string().max(2048).optional().meta({ description: 'Base URL of the provider API.' }),
  auth: z
    .object({ secretRef: SecretKeyRef })
    .optional()
    .meta({ description: 'Credentials, read from a Secret.' }),
  models: z.array(AIModel).max(256).optional(),
});
export type AIProviderSpec = z.infer<typeof AIProviderSpec>;

export const AIProvider = z.object({
  apiVersion: z.literal('tollgate.dev/v1alpha1'),
  kind: z.literal('AIProvider'),
  metadata: ObjectMeta,
  spec: AIProviderSpec,
  status: ObjectStatus.optional(),
});
export type AIProvider = z.infer<typeof AIProvider>;
