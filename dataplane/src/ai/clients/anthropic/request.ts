// Anthropic Messages request (as clients send it) → unified request. Checked with zod for what the
// translation relies on; blocks the unified format cannot carry are refused with a clear 400.
import { z } from 'zod';
import { imageURLOf } from '../../formats/anthropic/images.ts';
import { isRecord } from '../../formats/http.ts';
import type {
  ChatMessage,
  ChatRequest,
  ContentPart,
  FunctionTool,
  ToolCall,
  ToolChoice,
} from '../../unified.ts';
import { ClientRequestError } from '../types.ts';

const block = z.looseObject({ type: z.string() });
const messagesRequest = z.looseObject({
  model: z.string().min(1),
  max_tokens: z.number().int().min(1),
  messages: z
    .array(
      z.looseObject({ role: z.enum(['user', 'assistant']), content: z.union([z.string(), z.array(block)]) }),
    )
    .min(1),
  system: z.union([z.string(), z.array(block)]).optional(),
  stream: z.boolean().optional(),
  tools: z.array(z.looseObject({ name: z.string().min(1) })).optional(),
  tool_choice: z.looseObject({ type: z.enum(['auto', 'any', 'tool', 'none']) }).optional(),
  stop_sequences: z.array(z.string()).optional(),
});

type Block = Record<string, unknown>;

export function decodeAnthropicMessages(json: Record<string, unknown>): ChatRequest {
  const parsed = messagesRequest.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ClientRequestError(
      issue
        ? `${issue.path.length > 0 ? issue.path.join('.') : 'body'}: ${issue.message}`
        : 'invalid request body',
    );
  }
  const body = parsed.data;
  const messages: ChatMessage[] = [];
  const system = typeof body.system === 'string' ? body.system : textOfBlocks(body.system ?? []);
  if (system) messages.push({ role: 'system', content: system });
  body.messages.forEach((message, i) => {
    const blocks: Block[] =
      typeof message.content === 'string' ? [{ type: 'text', text: message.content }] : message.content;
    if (message.role === 'assistant') messages.push(assistantMessage(blocks, i));
    else messages.push(...userMessages(blocks, i));
  });

  const out: ChatRequest = { model: body.model, messages, max_tokens: body.max_tokens };
  if (body.stream) out.stream = true;
  if (typeof json.temperature === 'number') out.temperature = json.temperature;
  if (typeof json.top_p === 'number') out.top_p = json.top_p;
  if (body.stop_sequences?.length) out.stop = body.stop_sequences;
  if (isRecord(json.metadata) && typeof json.metadata.user_id === 'string') out.user = json.metadata.user_id;
  if (body.tools?.length) out.tools = body.tools.map((tool, i) => functionTool(tool, i));
  if (body.tool_choice) {
    const { choice, parallel } = toolChoice(body.tool_choice);
    out.tool_choice = choice;
    if (parallel === false) out.parallel_tool_calls = false;
  }
  return out;
}

function textOfBlocks(blocks: readonly Block[]): string {
  return blocks.map((b) => (b.type === 'text' && typeof b.text === 'string' ? b.text : '')).join('\n');
}

function userMessages(blocks: readonly Block[], index: number): ChatMessage[] {
  const tools: ChatMessage[] = [];
  const parts: ContentPart[] = [];
  blocks.forEach((b, j) => {
    const at = `messages.${index}.content.${j}`;
    if (b.type === 'text') parts.push({ type: 'text', text: String(b.text ?? '') });
    else if (b.type === 'image') {
      const url = imageURLOf(b.source);
      if (!url) throw new ClientRequestError(`${at}.source: must be a base64 or url image source`);
      parts.push({ type: 'image_url', image_url: { url } });
    } else if (b.type === 'tool_result') {
      const content =
        typeof b.content === 'string'
          ? b.content
          : Array.isArray(b.content)
            ? textOfBlocks(b.content as Block[])
            : '';
      tools.push({
        role: 'tool',
        tool_call_id: String(b.tool_use_id ?? ''),
        content: b.is_error === true ? `Error: ${content}` : content,
      });
    } else {
      throw new ClientRequestError(
        `${at}: content blocks of type "${String(b.type)}" cannot be sent to this model's provider`,
      );
    }
  });
  if (parts.length === 0) return tools;
  // One text block stays a plain string; several stay separate parts, as every target accepts them
  // (joining them would run paragraphs together).
  const single = parts.length === 1 && parts[0]!.type === 'text';
  const content = single ? (parts[0] as { text: string }).text : parts;
  return [...tools, { role: 'user', content }];
}

function assistantMessage(blocks: readonly Block[], index: number): ChatMessage {
  let text = '';
  const calls: ToolCall[] = [];
  blocks.forEach((b, j) => {
    if (b.type === 'text') text += String(b.text ?? '');
    else if (b.type === 'tool_use')
      calls.push({
        id: String(b.id ?? ''),
        type: 'function',
        function: { name: String(b.name ?? ''), arguments: JSON.stringify(b.input ?? {}) },
      });
    else if (b.type === 'thinking' || b.type === 'redacted_thinking') return;
    else
      throw new ClientRequestError(
        `messages.${index}.content.${j}: content blocks of type "${String(b.type)}" cannot be sent to this model's provider`,
      );
  });
  const message: ChatMessage = { role: 'assistant', content: text || (calls.length > 0 ? null : '') };
  if (calls.length > 0) message.tool_calls = calls;
  return message;
}

function functionTool(tool: Record<string, unknown>, index: number): FunctionTool {
  if (tool.type !== undefined && tool.type !== 'custom')
    throw new ClientRequestError(
      `tools.${index}: server tools ("${String(tool.type)}") cannot be sent to this model's provider`,
    );
  return {
    type: 'function',
    function: {
      name: String(tool.name),
      ...(typeof tool.description === 'string' ? { description: tool.description } : {}),
      parameters: isRecord(tool.input_schema) ? tool.input_schema : { type: 'object', properties: {} },
    },
  };
}

function toolChoice(choice: Record<string, unknown>): { choice: ToolChoice; parallel: boolean | undefined } {
  const parallel = choice.disable_parallel_tool_use === true ? false : undefined;
  switch (choice.type) {
    case 'any':
      return { choice: 'required', parallel };
    case 'none':
      return { choice: 'none', parallel };
    case 'tool':
      return { choice: { type: 'function', function: { name: String(choice.name ?? '') } }, parallel };
    default:
      return { choice: 'auto', parallel };
  }
}
