// Gemini GenerateContentResponse → unified chat completion. Only the first candidate is read (the
// gateway never asks for more). Thought parts are reasoning, not reply text.
import { toWireUsage, type Usage } from '../../metering/usage.ts';
import type { ChatCompletion, ToolCall } from '../../unified.ts';
import { isRecord } from '../http.ts';
import { finishReasonOf } from './finish-reasons.ts';
import { usageFromGemini } from './usage.ts';

export interface CandidateParts {
  text: string;
  calls: Array<{ id: string | undefined; name: string; arguments: string }>;
}

/** Text and function calls of a candidate's parts. */
export function partsOf(candidate: unknown): CandidateParts {
  const out: CandidateParts = { text: '', calls: [] };
  const content = isRecord(candidate) && isRecord(candidate.content) ? candidate.content : undefined;
  if (!content || !Array.isArray(content.parts)) return out;
  for (const part of content.parts) {
    if (!isRecord(part) || part.thought === true) continue;
    if (typeof part.text === 'string') out.text += part.text;
    if (isRecord(part.functionCall)) {
      const call = part.functionCall;
      out.calls.push({
        id: typeof call.id === 'string' && call.id ? call.id : undefined,
        name: String(call.name ?? ''),
        arguments: JSON.stringify(call.args ?? {}),
      });
    }
  }
  return out;
}

export function fromGeminiResponse(
  json: unknown,
  fallbackModel: string,
): { completion: ChatCompletion; usage: Usage | undefined } {
  if (!isRecord(json)) throw new Error('the provider answered something that is not a response');
  const candidate = Array.isArray(json.candidates) ? json.candidates[0] : undefined;
  const { text, calls } = partsOf(candidate);
  const id = typeof json.responseId === 'string' ? json.responseId : '';
  const toolCalls: ToolCall[] = calls.map((call, i) => ({
    id: call.id ?? `call_${id || 'gemini'}_${i}`,
    type: 'function',
    function: { name: call.name, arguments: call.arguments },
  }));
  const usage = usageFromGemini(json.usageMetadata);
  const reason = isRecord(candidate) ? candidate.finishReason : blockReasonOf(json);
  const completion: ChatCompletion = {
    id,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: typeof json.modelVersion === 'string' ? json.modelVersion : fallbackModel,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: text || (toolCalls.length > 0 ? null : ''),
          ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
        },
        finish_reason: finishReasonOf(reason, toolCalls.length > 0),
      },
    ],
  };
  if (usage) completion.usage = toWireUsage(usage);
  return { completion, usage };
}

/** A prompt Gemini refused to answer comes back without candidates, the reason in promptFeedback. */
export function blockReasonOf(json: Record<string, unknown>): string | undefined {
  const feedback = json.promptFeedback;
  return isRecord(feedback) && typeof feedback.blockReason === 'string' ? 'SAFETY' : undefined;
}
