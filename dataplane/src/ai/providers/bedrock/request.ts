// Unified (OpenAI chat) request → Bedrock Converse request body.
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

type Block = Record<string, unknown>;
interface ConverseMessage {
  role: 'user' | 'assistant';
  content: Block[];
}

const DATA_URL = /^data:image\/([a-z]+);base64,(.*)$/s;
const IMAGE_FORMATS = new Set(['png', 'jpeg', 'gif', 'webp']);

export function converseRequestBody(input: PrepareInput): string {
  const { body, model } = input;
  if (body.kind !== 'chat') throw new ProviderRequestError('this provider serves chat only');
  const configured = input.target.ir.models.find((m) => m.name === model)?.maxOutputTokens;
  return JSON.stringify(
    toConverseRequest(body.request, typeof configured === 'number' ? configured : undefined),
  );
}

export function toConverseRequest(request: ChatRequest, defaultMaxTokens: number | undefined): Block {
  const system: string[] = [];
  const messages: ConverseMessage[] = [];
  const push = (role: 'user' | 'assistant', blocks: Block[]): void => {
    if (blocks.length === 0) return;
    const last = messages.at(-1);
    // Converse wants turns to alternate: a run of tool results is one user turn.
    if (last && last.role === role) last.content.push(...blocks);
    else messages.push({ role, content: blocks });
  };
  let toolHistory = false;
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
        if (message.tool_calls?.length) toolHistory = true;
        push('assistant', assistantBlocks(message));
        break;
      case 'tool':
        toolHistory = true;
        push('user', [
          {
            toolResult: {
              toolUseId: message.tool_call_id ?? '',
              content: [{ text: messageText(message.content) }],
            },
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

  const out: Block = { messages };
  const nonEmptySystem = system.filter((s) => s !== '');
  if (nonEmptySystem.length > 0) out.system = nonEmptySystem.map((text) => ({ text }));
  const inference: Block = {};
  const maxTokens = request.max_completion_tokens ?? request.max_tokens ?? defaultMaxTokens;
  if (typeof maxTokens === 'number') inference.maxTokens = maxTokens;
  if (typeof request.temperature === 'number')
    inference.temperature = Math.min(1, Math.max(0, request.temperature));
  if (typeof request.top_p === 'number') inference.topP = request.top_p;
  if (request.stop !== undefined)
    inference.stopSequences = Array.isArray(request.stop) ? request.stop : [request.stop];
  if (Object.keys(inference).length > 0) out.inferenceConfig = inference;
  // Converse has no "none" tool choice; tools are left out instead, unless the history uses them
  // (Converse then requires the tool configuration).
  if (request.tools?.length && (request.tool_choice !== 'none' || toolHistory)) {
    const toolConfig: Block = {
      tools: request.tools.map((tool) => ({
        toolSpec: {
          name: tool.function.name,
          ...(tool.function.description ? { description: tool.function.description } : {}),
          inputSchema: { json: tool.function.parameters ?? { type: 'object', properties: {} } },
        },
      })),
    };
    const choice = toolChoice(request.tool_choice);
    if (choice) toolConfig.toolChoice = choice;
    out.toolConfig = toolConfig;
  }
  return out;
}

function toolChoice(choice: ToolChoice | undefined): Block | undefined {
  if (choice === undefined || choice === 'none') return undefined;
  if (choice === 'auto') return { auto: {} };
  if (choice === 'required') return { any: {} };
  return { tool: { name: choice.function.name } };
}

function contentBlocks(content: ChatMessage['content']): Block[] {
  if (typeof content === 'string') return content ? [{ text: content }] : [];
  if (!content) return [];
  return content.map((part) => partBlock(part));
}

function partBlock(part: ContentPart): Block {
  if (part.type === 'text') return { text: (part as { text: string }).text };
  if (part.type === 'image_url') {
    const image = (part as { image_url?: unknown }).image_url;
    const url = isRecord(image) && typeof image.url === 'string' ? image.url : '';
    const data = DATA_URL.exec(url);
    const format = data?.[1] === 'jpg' ? 'jpeg' : data?.[1];
    // Converse takes image bytes only (inline or from S3), never a URL to fetch.
    if (!data || !format || !IMAGE_FORMATS.has(format))
      throw new ProviderRequestError(
        'messages: images must be data: URLs (png, jpeg, gif or webp) for this provider',
      );
    return { image: { format, source: { bytes: data[2] } } };
  }
  throw new ProviderRequestError(
    `messages: content parts of type "${part.type}" cannot be sent to this provider`,
  );
}

function assistantBlocks(message: ChatMessage): Block[] {
  const blocks = contentBlocks(message.content);
  for (const call of message.tool_calls ?? []) {
    const input = toolCallArguments(call);
    blocks.push({ toolUse: { toolUseId: call.id, name: call.function.name, input } });
  }
  return blocks;
}
