// The text of AI request and response bodies as guardrails see it: every text part, wherever the
// caller's API puts it, with a way to write a masked version back in place. Only text is visited:
// images, audio, files and tool-call arguments travel untouched.
//
// Requests: OpenAI chat (`messages[].content` string or `{type: "text"}` parts), Anthropic
// messages (`system`, `messages[].content` text blocks, `tool_result` contents) and embeddings
// (`input` string or strings; token-id arrays are not text). Responses: OpenAI chat completions
// (`choices[].message.content`) and Anthropic messages (`content[]` text blocks).

export type Speaker = 'system' | 'user' | 'assistant' | 'tool';

export interface TextSlot {
  readonly text: string;
  /** Who wrote it: injection heuristics read only what users and tools wrote. */
  readonly speaker: Speaker;
  set(text: string): void;
}

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function speakerOf(role: unknown): Speaker {
  if (role === 'system' || role === 'developer') return 'system';
  if (role === 'assistant') return 'assistant';
  if (role === 'tool' || role === 'function') return 'tool';
  return 'user';
}

/** A string held at `holder[key]`. */
function slot(holder: JsonObject | unknown[], key: string | number, speaker: Speaker): TextSlot | undefined {
  const text = (holder as Record<string | number, unknown>)[key];
  if (typeof text !== 'string') return undefined;
  return {
    text,
    speaker,
    set: (value) => {
      (holder as Record<string | number, unknown>)[key] = value;
    },
  };
}

/**
 * Text in a content value: a string, or an array of parts / blocks of which `text` ones count and
 * `tool_result` ones are read in turn. A loop over a work list, not recursion: a body nesting tool
 * results a million deep must not overflow the stack. (Checks read every slot; their order does not matter.)
 */
function contentSlots(holder: JsonObject, key: string, speaker: Speaker, out: TextSlot[]): void {
  const pending: Array<{ holder: JsonObject; key: string; speaker: Speaker }> = [{ holder, key, speaker }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const content = next.holder[next.key];
    if (typeof content === 'string') {
      const s = slot(next.holder, next.key, next.speaker);
      if (s) out.push(s);
      continue;
    }
    if (!Array.isArray(content)) continue;
    for (const part of content) {
      if (!isObject(part)) continue;
      if (part.type === 'text') {
        const s = slot(part, 'text', next.speaker);
        if (s) out.push(s);
      } else if (part.type === 'tool_result') {
        pending.push({ holder: part, key: 'content', speaker: 'tool' });
      }
    }
  }
}

/** Every text of a request body (chat in either API, or embeddings). */
export function requestTextSlots(body: JsonObject): TextSlot[] {
  const out: TextSlot[] = [];
  if ('system' in body) contentSlots(body, 'system', 'system', out);
  if (Array.isArray(body.messages)) {
    for (const message of body.messages) {
      if (isObject(message)) contentSlots(message, 'content', speakerOf(message.role), out);
    }
  }
  const { input } = body;
  if (typeof input === 'string') out.push(slot(body, 'input', 'user')!);
  else if (Array.isArray(input)) {
    input.forEach((item, i) => {
      if (typeof item === 'string') out.push(slot(input, i, 'user')!);
    });
  }
  return out;
}

/** Every generated text of a non-streamed response (OpenAI chat completion or Anthropic message). */
export function responseTextSlots(body: JsonObject): TextSlot[] {
  const out: TextSlot[] = [];
  if (Array.isArray(body.choices)) {
    for (const choice of body.choices) {
      if (isObject(choice) && isObject(choice.message))
        contentSlots(choice.message, 'content', 'assistant', out);
    }
  }
  if (Array.isArray(body.content)) contentSlots(body, 'content', 'assistant', out);
  return out;
}

/**
 * The generated text in a piece of a server-sent-event stream in the client's format (OpenAI
 * chunks' `delta.content`, Anthropic `text_delta`s). `carry` holds a line cut between pieces.
 */
export class StreamTextReader {
  #carry = '';

  push(piece: string): string {
    // Only a piece with a line end completes lines: a long line arriving in many pieces is
    // gathered, never split again on every piece.
    const lastLineEnd = piece.lastIndexOf('\n');
    if (lastLineEnd === -1) {
      this.#carry += piece;
      return '';
    }
    const lines = (this.#carry + piece.slice(0, lastLineEnd)).split('\n');
    this.#carry = piece.slice(lastLineEnd + 1);
    let text = '';
    for (const line of lines) {
      if (!line.startsWith('data:')) continue;
      const data = line.slice(5).trim();
      if (data === '' || data === '[DONE]') continue;
      try {
        text += textOfEvent(JSON.parse(data));
      } catch {
        // Not JSON: no text for us in it.
      }
    }
    return text;
  }
}

function textOfEvent(event: unknown): string {
  if (!isObject(event)) return '';
  if (Array.isArray(event.choices)) {
    let text = '';
    for (const choice of event.choices) {
      if (isObject(choice) && isObject(choice.delta) && typeof choice.delta.content === 'string')
        text += choice.delta.content;
    }
    return text;
  }
  if (event.type === 'content_block_delta' && isObject(event.delta) && typeof event.delta.text === 'string')
    return event.delta.text;
  return '';
}
