// OpenAI-API request bodies, checked for what the gateway relies on (zod parses what enters);
// every other field is kept as sent.
import { z } from 'zod';
import type { ChatRequest, EmbeddingsRequest } from '../../unified.ts';
import { ClientRequestError } from '../types.ts';

const message = z.looseObject({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
  content: z.union([z.string(), z.array(z.looseObject({ type: z.string() })), z.null()]).optional(),
});

const chatRequest = z.looseObject({
  model: z.string().min(1),
  messages: z.array(message).min(1),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullish(),
  tools: z
    .array(
      z.looseObject({ type: z.literal('function'), function: z.looseObject({ name: z.string().min(1) }) }),
    )
    .optional(),
});

const embeddingsRequest = z.looseObject({
  model: z.string().min(1),
  input: z.union([z.string(), z.array(z.string()), z.array(z.number()), z.array(z.array(z.number()))]),
});

export function decodeOpenAIChat(json: Record<string, unknown>): ChatRequest {
  const parsed = chatRequest.safeParse(json);
  if (!parsed.success) throw new ClientRequestError(describe(parsed.error));
  return json as ChatRequest;
}

export function decodeOpenAIEmbeddings(json: Record<string, unknown>): EmbeddingsRequest {
  const parsed = embeddingsRequest.safeParse(json);
  if (!parsed.success) throw new ClientRequestError(describe(parsed.error));
  return json as EmbeddingsRequest;
}

function describe(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid request body';
  const path = issue.path.length > 0 ? issue.path.join('.') : 'body';
  return `${path}: ${issue.message}`;
}
