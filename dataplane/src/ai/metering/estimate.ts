// Token counts the gateway works out itself when a provider reports none (or a stream broke off
// before it did): OpenAI's o200k_base encoding from gpt-tokenizer. Other model families tokenize
// differently, which is why such figures are always marked estimated. The encoding (~2 MB of
// ranks, ~40 MiB in memory) loads once, when AI providers are first configured; until it is
// there, 4 characters per token.
import { isRecord } from '../formats/http.ts';

type Counter = (text: string) => number;

let counter: Counter | undefined;
let loading: Promise<void> | undefined;

/** Starts loading the tokenizer; resolves when it is ready. Safe to call repeatedly. */
export function loadTokenizer(): Promise<void> {
  loading ??= import('gpt-tokenizer/encoding/o200k_base').then((module) => {
    counter = (text) => module.countTokens(text);
  });
  return loading;
}

/** Whether the tokenizer is ready (countTokens is exact, not characters / 4). */
export function tokenizerLoaded(): boolean {
  return counter !== undefined;
}

export function countTokens(text: string): number {
  if (!text) return 0;
  return counter ? counter(text) : Math.ceil(text.length / 4);
}

/**
 * Fields that are structure, not prompt text: roles and types are covered by the per-message
 * framing, ids are not sent to the model as text, and images are priced by size rather than by
 * their URL or base64 data.
 */
const NOT_TEXT = new Set([
  'role',
  'type',
  'id',
  'tool_call_id',
  'tool_use_id',
  'media_type',
  'cache_control',
  'detail',
  'data',
  'url',
]);

/** Tokens of chat framing per message (role and separators), as OpenAI's counting guide has it. */
const PER_MESSAGE = 4;

/**
 * Input tokens of a request body in either API (OpenAI: messages, tools, input; Anthropic: system,
 * messages, tools): every string inside them, plus the per-message framing.
 */
export function estimateInputTokens(body: Record<string, unknown>): number {
  let text = '';
  const collect = (value: unknown): void => {
    if (typeof value === 'string') text += `${value}\n`;
    else if (Array.isArray(value)) for (const item of value) collect(item);
    else if (isRecord(value)) for (const key in value) if (!NOT_TEXT.has(key)) collect(value[key]);
  };
  collect(body.system);
  collect(body.messages);
  collect(body.tools);
  collect(body.input);
  const messages = Array.isArray(body.messages) ? body.messages.length : 0;
  return countTokens(text) + messages * PER_MESSAGE;
}
