// Prompt and completion content in the shape of the GenAI semantic conventions
// (gen_ai.input.messages / gen_ai.output.messages: role + parts), built from the request body the
// guardrails have already masked and the completion text as the client receives it. Bounded:
// spans are not a transcript store, so long texts are cut and long conversations keep their end.

/** Characters kept of one text part; the rest is replaced by a marker. */
export const MAX_PART_CHARS = 16_384;
/** Messages kept of a conversation (the most recent ones). */
export const MAX_MESSAGES = 64;

export interface GenAIPart {
  type: 'text';
  content: string;
}
export interface GenAIMessage {
  role: string;
  parts: GenAIPart[];
  finish_reason?: string;
}

function bounded(text: string): string {
  return text.length <= MAX_PART_CHARS
    ? text
    : `${text.slice(0, MAX_PART_CHARS)}…[${text.length - MAX_PART_CHARS} characters not recorded]`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Text parts of a message content in either API's shape: a string, or a list of blocks. */
function partsOf(content: unknown): GenAIPart[] {
  if (typeof content === 'string') return [{ type: 'text', content: bounded(content) }];
  if (!Array.isArray(content)) return [];
  const parts: GenAIPart[] = [];
  for (const block of content) {
    if (typeof block === 'string') parts.push({ type: 'text', content: bounded(block) });
    else if (isRecord(block) && typeof block.text === 'string')
      parts.push({ type: 'text', content: bounded(block.text) });
  }
  return parts;
}

/**
 * The conversation of a chat request body (OpenAI `messages`, Anthropic `system` + `messages`);
 * undefined when the body holds none (embeddings, unknown shapes).
 */
export function genAIInputMessages(body: Record<string, unknown>): GenAIMessage[] | undefined {
  const out: GenAIMessage[] = [];
  if (body.system !== undefined) {
    const parts = partsOf(body.system);
    if (parts.length > 0) out.push({ role: 'system', parts });
  }
  if (!Array.isArray(body.messages)) return out.length > 0 ? out : undefined;
  for (const message of body.messages) {
    if (!isRecord(message)) continue;
    out.push({
      role: typeof message.role === 'string' ? message.role : 'user',
      parts: partsOf(message.content),
    });
  }
  return out.length > MAX_MESSAGES ? out.slice(-MAX_MESSAGES) : out;
}

/** The completion as one assistant message. */
export function genAIOutputMessages(text: string, finishReason: string | undefined): GenAIMessage[] {
  const message: GenAIMessage = { role: 'assistant', parts: [{ type: 'text', content: bounded(text) }] };
  if (finishReason) message.finish_reason = finishReason;
  return [message];
}

/** What masks a completion: the response side of the request's guardrails. */
interface ResponseChecker {
  checkResponse(body: Record<string, unknown>, record: () => void): { ok: boolean };
}

/**
 * A streamed completion as a span may hold it. Mask rules cannot rewrite text already streamed
 * to the client, but the span can still get the masked text: the response guardrails run over it
 * here (recording no decision: the stream's own were counted). Undefined when they would block it.
 */
export function maskedCompletion(text: string, guardrails: ResponseChecker | undefined): string | undefined {
  if (!guardrails) return text;
  const message = { role: 'assistant', content: text };
  const verdict = guardrails.checkResponse({ choices: [{ index: 0, message }] }, () => {});
  return verdict.ok ? message.content : undefined;
}
