// Unified (OpenAI chat) request → Anthropic Messages request, and the headers Anthropic expects.

import { imageSourceOf } from '../../formats/anthropic/images.ts';
import { isRecord } from '../../formats/http.ts';
import {
  type ChatMessage,
  type ChatRequest,
  type ContentPart,
  messageText,
  messageTextParts,
  type ToolChoice,
} from '../../unified.ts';
import { type PrepareInput, ProviderRequestError, toolCallArguments } from '../types.ts';

export const ANTHROPIC_VERSION = '2023-06-01';
/** Anthropic requires max_tokens; this applies when neither the request nor the model sets one. */
export const DEFAULT_MAX_TOKENS = 4096;

type Block = Record<string, unknown>;
interface AnthropicMessage {
  role: 'user' | 'assistant';
  content: Block[];
}

export function anthropicHeaders(input: PrepareInput): Record<string, string> {
  const headers: Record<string, string> = {};
  const key = input.target.ir.credentials.apiKey;
  if (key) headers['x-api-key'] = key;
  const version = input.body.kind === 'native' ? input.clientHeaders['anthropic-version'] : undefined;
  headers['anthropic-version'] = typeof version === 'string' && version ? version : ANTHROPIC_VERSION;
  const beta = input.body.kind === 'native' ? input.clientHeaders['anthropic-beta'] : undefined;
  if (beta !== undefined) headers['anthropic-beta'] = Array.isArray(beta) ? beta.join(',') : beta;
  return headers;
}

export function toAnthropicRequest(
  request: ChatRequest,
  model: string,
  stream: boolean,
  maxTokens: number,
): Block {
  const system: string[] = [];
  const messages: AnthropicMessage[] = [];
  const push = (role: 'user' | 'assistant', blocks: Block[]): void => {
    if (blocks.length === 0) return;
    const last = messages.at(-1);
    // Consecutive turns of one role (a run of tool results, say) are one Anthropic turn.
    if (last && last.role === role) last.content.push(...blocks);
    else messages.push({ role, content: blocks });
  };
  for (const message of request.messages) {
    switch (message.role) {
      case 'system':
      case 'developer':
        system.push(...messageTextParts(message.content));
        break;
      case 'user':
        push('user', contentBlocks(message.content));
        break;
      case 'assistant':
        push('assistant', assistantBlocks(message));
        break;
      case 'tool':
        push('user', [
          {
            type: 'tool_result',
            tool_use_id: message.tool_call_id ?? '',
            content: messageText(message.content),
          },
        ]);
        break;
      default:
        throw new ProviderRequestError(`messages: role "${String(message.role)}" is not supported`);
    }
  }
  const format = request.response_format;
  if (format?.type === 'json_object') system.push('Respond with a single JSON object and nothing else.');
  if (format?.type === 'json_schema') {
    system.push(
      `Respond with a single JSON object and nothing else, matching this JSON schema: ${JSON.stringify(format.json_schema.schema ?? {})}`,
    );
  }

  const out: Block = {
    model,
    messages,
    max_tokens: request.max_completion_tokens ?? request.max_tokens ?? maxTokens,
  };
  if (system.length === 1) out.system = system[0];
  else if (system.length > 1) out.system = system.map((text) => ({ type: 'text', text }));
  if (stream) out.stream = true;
  if (typeof request.temperature === 'number')
    out.temperature = Math.min(1, Math.max(0, request.temperature));
  if (typeof request.top_p === 'number') out.top_p = request.top_p;
  if (request.stop !== undefined)
    out.stop_sequences = Array.isArray(request.stop) ? request.stop : [request.stop];
  if (typeof request.user === 'string') out.metadata = { user_id: request.user };
  if (request.tools?.length) {
    out.tools = request.tools.map((tool) => ({
      name: tool.function.name,
      ...(tool.function.description ? { description: tool.function.description } : {}),
      input_schema: tool.function.parameters ?? { type: 'object', properties: {} },
    }));
    const choice = toolChoice(request.tool_choice, request.parallel_tool_calls);
    if (choice) out.tool_choice = choice;
  }
  return out;
}

function toolChoice(choice: ToolChoice | undefined, parallel: boolean | undefined): Block | undefined {
  const noParallel = parallel === false ? { disable_parallel_tool_use: true } : {};
  if (choice === undefined) return parallel === false ? { type: 'auto', ...noParallel } : undefined;
  if (choice === 'none') return { type: 'none' };
  if (choice === 'auto') return { type: 'auto', ...noParallel };
  if (choice === 'required') return { type: 'any', ...noParallel };
  return { type: 'tool', name: choice.function.name, ...noParallel };
}

function contentBlocks(content: ChatMessage['content']): Block[] {
  if (typeof content === 'string') return content ? [{ type: 'text', text: content }] : [];
  if (!content) return [];
  return content.map((part) => partBlock(part));
}

function partBlock(part: ContentPart): Block {
  if (part.type === 'text') return { type: 'text', text: (part as { text: string }).text };
  if (part.type === 'image_url') {
    const image = (part as { image_url?: unknown }).image_url;
    const url = isRecord(image) && typeof image.url === 'string' ? image.url : undefined;
    if (!url) throw new ProviderRequestError('messages: an image_url part needs image_url.url');
    return { type: 'image', source: imageSourceOf(url) };
  }
  throw new ProviderRequestError(
    `messages: content parts of type "${part.type}" cannot be sent to this provider`,
  );
}

function assistantBlocks(message: ChatMessage): Block[] {
  const blocks = contentBlocks(message.content);
  for (const call of message.tool_calls ?? []) {
    const input = toolCallArguments(call);
    blocks.push({ type: 'tool_use', id: call.id, name: call.function.name, input });
  }
  return blocks;
}
