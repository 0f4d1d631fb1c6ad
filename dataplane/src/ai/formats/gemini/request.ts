// Unified (OpenAI chat) request → Gemini generateContent request. Gemini and Vertex AI share this
// body; only the URL and the credentials differ.
import { ProviderRequestError, toolCallArguments } from '../../providers/types.ts';
import {
  type ChatMessage,
  type ChatRequest,
  type ContentPart,
  messageText,
  messageTextParts,
  type ToolChoice,
} from '../../unified.ts';
import { isRecord } from '../http.ts';
import { toGeminiSchema } from './schema.ts';

type Part = Record<string, unknown>;
interface Content {
  role: 'user' | 'model';
  parts: Part[];
}

const DATA_URL = /^data:([^;,]+);base64,(.*)$/s;
/** OpenAI's reasoning_effort as a Gemini thinking budget (tokens); "minimal" turns thinking off where allowed. */
const THINKING_BUDGETS: Record<string, number> = { minimal: 0, low: 1024, medium: 8192, high: 24576 };

export function toGeminiRequest(request: ChatRequest): Record<string, unknown> {
  const system: string[] = [];
  const contents: Content[] = [];
  // Gemini answers a function call by name, OpenAI by call id: remember which id named what.
  const callNames = new Map<string, string>();
  const push = (role: Content['role'], parts: Part[]): void => {
    if (parts.length === 0) return;
    const last = contents.at(-1);
    // Consecutive turns of one role (a run of tool results, say) are one Gemini turn.
    if (last && last.role === role) last.parts.push(...parts);
    else contents.push({ role, parts });
  };
  for (const message of request.messages) {
    switch (message.role) {
      case 'system':
      case 'developer':
        system.push(...messageTextParts(message.content));
        break;
      case 'user':
        push('user', contentParts(message.content));
        break;
      case 'assistant':
        for (const call of message.tool_calls ?? []) callNames.set(call.id, call.function.name);
        push('model', assistantParts(message));
        break;
      case 'tool': {
        const name = callNames.get(message.tool_call_id ?? '') ?? message.name ?? '';
        push('user', [{ functionResponse: { name, response: { content: messageText(message.content) } } }]);
        break;
      }
      default:
        throw new ProviderRequestError(`messages: role "${String(message.role)}" is not supported`);
    }
  }

  const out: Record<string, unknown> = { contents };
  if (system.length > 0) out.systemInstruction = { parts: system.map((text) => ({ text })) };
  const config: Record<string, unknown> = {};
  if (typeof request.temperature === 'number') config.temperature = request.temperature;
  if (typeof request.top_p === 'number') config.topP = request.top_p;
  const max = request.max_completion_tokens ?? request.max_tokens;
  if (typeof max === 'number') config.maxOutputTokens = max;
  if (request.stop !== undefined)
    config.stopSequences = Array.isArray(request.stop) ? request.stop : [request.stop];
  if (typeof request.seed === 'number') config.seed = request.seed;
  if (typeof request.presence_penalty === 'number') config.presencePenalty = request.presence_penalty;
  if (typeof request.frequency_penalty === 'number') config.frequencyPenalty = request.frequency_penalty;
  const budget = THINKING_BUDGETS[String(request.reasoning_effort)];
  if (budget !== undefined) config.thinkingConfig = { thinkingBudget: budget };
  const format = request.response_format;
  if (format?.type === 'json_object') config.responseMimeType = 'application/json';
  if (format?.type === 'json_schema') {
    config.responseMimeType = 'application/json';
    if (format.json_schema.schema) config.responseSchema = toGeminiSchema(format.json_schema.schema);
  }
  if (Object.keys(config).length > 0) out.generationConfig = config;
  if (request.tools?.length) {
    out.tools = [
      {
        functionDeclarations: request.tools.map((tool) => ({
          name: tool.function.name,
          ...(tool.function.description ? { description: tool.function.description } : {}),
          ...(tool.function.parameters ? { parameters: toGeminiSchema(tool.function.parameters) } : {}),
        })),
      },
    ];
    const choice = toolConfig(request.tool_choice);
    if (choice) out.toolConfig = choice;
  }
  return out;
}

function toolConfig(choice: ToolChoice | undefined): Record<string, unknown> | undefined {
  if (choice === undefined) return undefined;
  if (choice === 'none') return { functionCallingConfig: { mode: 'NONE' } };
  if (choice === 'auto') return { functionCallingConfig: { mode: 'AUTO' } };
  if (choice === 'required') return { functionCallingConfig: { mode: 'ANY' } };
  return { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: [choice.function.name] } };
}

function contentParts(content: ChatMessage['content']): Part[] {
  if (typeof content === 'string') return content ? [{ text: content }] : [];
  if (!content) return [];
  return content.map((part) => partOf(part));
}

function partOf(part: ContentPart): Part {
  if (part.type === 'text') return { text: (part as { text: string }).text };
  if (part.type === 'image_url') {
    const image = (part as { image_url?: unknown }).image_url;
    const url = isRecord(image) && typeof image.url === 'string' ? image.url : undefined;
    if (!url) throw new ProviderRequestError('messages: an image_url part needs image_url.url');
    const data = DATA_URL.exec(url);
    if (data) return { inlineData: { mimeType: data[1], data: data[2] } };
    return { fileData: { fileUri: url } };
  }
  throw new ProviderRequestError(
    `messages: content parts of type "${part.type}" cannot be sent to this provider`,
  );
}

function assistantParts(message: ChatMessage): Part[] {
  const parts = contentParts(message.content);
  for (const call of message.tool_calls ?? []) {
    const args = toolCallArguments(call);
    parts.push({ functionCall: { name: call.function.name, args } });
  }
  return parts;
}
