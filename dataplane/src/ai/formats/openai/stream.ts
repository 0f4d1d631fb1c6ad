// OpenAI chat completion streams: `data: <chunk JSON>` events ending with `data: [DONE]`, usage in
// a last chunk with empty choices when `stream_options.include_usage` is set (or, for some
// providers, on the final chunk itself), errors as `data: {"error": …}`.
import type { PassthroughStream, StreamDecoder, StreamState } from '../../providers/types.ts';
import { MutableStreamState, RawEventKeeper } from '../../stream-state.ts';
import type { ChatChunk } from '../../unified.ts';
import { isRecord } from '../http.ts';
import { frameEvent, type SSEEvent, SSEReader } from '../sse.ts';
import { openAIStreamError } from './errors.ts';
import { usageFromOpenAI } from './usage.ts';

/** Text a chunk adds: content, refusal, reasoning and tool-call arguments. */
export function chunkText(json: unknown): string {
  if (!isRecord(json) || !Array.isArray(json.choices)) return '';
  let text = '';
  for (const choice of json.choices) {
    const delta = isRecord(choice) && isRecord(choice.delta) ? choice.delta : undefined;
    if (!delta) continue;
    if (typeof delta.content === 'string') text += delta.content;
    if (typeof delta.refusal === 'string') text += delta.refusal;
    if (typeof delta.reasoning_content === 'string') text += delta.reasoning_content;
    if (Array.isArray(delta.tool_calls)) {
      for (const call of delta.tool_calls) {
        const fn = isRecord(call) && isRecord(call.function) ? call.function : undefined;
        if (typeof fn?.name === 'string') text += fn.name;
        if (typeof fn?.arguments === 'string') text += fn.arguments;
      }
    }
  }
  return text;
}

/** Whether a chunk's data carries a usage object (`"usage":null` on every chunk does not count). */
function hasUsageObject(data: string): boolean {
  let at = data.indexOf('"usage"');
  while (at !== -1) {
    let i = at + 7;
    while (data[i] === ' ' || data[i] === ':') i++;
    if (data[i] === '{') return true;
    at = data.indexOf('"usage"', i);
  }
  return false;
}

const FINISHED = /"finish_reason"\s*:\s*"([^"]*)"/;

/** Records the finish reason of every choice that carries one; true when any did. */
function noteFinishReasons(state: MutableStreamState, choices: unknown[]): boolean {
  let found = false;
  for (const choice of choices) {
    if (isRecord(choice) && typeof choice.finish_reason === 'string') {
      state.addFinishReason(choice.finish_reason);
      found = true;
    }
  }
  return found;
}

function looksLikeError(data: string): boolean {
  return data.includes('"error"');
}

/** Translating decoder: chunks are handed on without usage, which the state keeps. */
export class OpenAIStreamDecoder implements StreamDecoder {
  readonly #state = new MutableStreamState();
  readonly #reader = new SSEReader();

  get state(): StreamState {
    return this.#state;
  }

  push(bytes: Buffer): ChatChunk[] {
    return this.#decode(this.#reader.push(bytes));
  }

  end(): ChatChunk[] {
    return this.#decode(this.#reader.end());
  }

  #decode(events: SSEEvent[]): ChatChunk[] {
    const out: ChatChunk[] = [];
    for (const { data } of events) {
      if (data === '[DONE]') {
        this.#state.finished = true;
        continue;
      }
      let json: unknown;
      try {
        json = JSON.parse(data);
      } catch {
        continue;
      }
      if (!isRecord(json)) continue;
      if (isRecord(json.error) && !Array.isArray(json.choices)) {
        this.#state.error ??= openAIStreamError(json.error);
        continue;
      }
      const usage = usageFromOpenAI(json.usage);
      if (usage) this.#state.usage = usage;
      if (typeof json.model === 'string') this.#state.responseModel ??= json.model;
      if (!Array.isArray(json.choices) || json.choices.length === 0) continue;
      noteFinishReasons(this.#state, json.choices);
      this.#state.addText(chunkText(json));
      const { usage: _dropped, ...chunk } = json;
      out.push(chunk as ChatChunk);
    }
    return out;
  }
}

const FINISH_KEY = '"finish_reason"';
const MODEL_KEY = '"model":"';
const NOTHING = Buffer.alloc(0);
/** `"usage"` and `"error"` (seven characters each): rare keys, so one regex pass finds them all. */
const RARE_KEYS = /"(?:usage|error)"/g;
const RARE_KEY_LENGTH = 7;

/**
 * Finds the keys that matter in the events of one text, each character read about once: the rare
 * keys by a regex pass whose next match is remembered, the finish reason (in every event, near its
 * end) backwards from the event's end — forwards, remembering the next, once an event lacks it.
 */
class KeyScan {
  #text = '';
  #rareAt = -1;
  #finishForward = false;
  #finishAt = -1;

  reset(text: string): void {
    this.#text = text;
    this.#rareAt = -1;
    this.#finishForward = false;
    this.#finishAt = -1;
  }

  /** The first `"usage"` or `"error"` in [from, to), or -1. */
  rare(from: number, to: number): number {
    if (this.#rareAt !== Number.POSITIVE_INFINITY && this.#rareAt < from) {
      RARE_KEYS.lastIndex = from;
      this.#rareAt = RARE_KEYS.test(this.#text)
        ? RARE_KEYS.lastIndex - RARE_KEY_LENGTH
        : Number.POSITIVE_INFINITY;
    }
    return this.#rareAt < to ? this.#rareAt : -1;
  }

  /** The last `"finish_reason"` in [from, to), or -1. */
  finish(from: number, to: number): number {
    const text = this.#text;
    if (!this.#finishForward) {
      const at = text.lastIndexOf(FINISH_KEY, to);
      if (at >= from) return at;
      // Backwards, events without the key would be read again and again.
      this.#finishForward = true;
      return -1;
    }
    if (this.#finishAt !== Number.POSITIVE_INFINITY && this.#finishAt < from) {
      const at = text.indexOf(FINISH_KEY, from);
      this.#finishAt = at === -1 ? Number.POSITIVE_INFINITY : at;
    }
    return this.#finishAt < to ? this.#finishAt : -1;
  }

  /** Whether [from, to) holds another `"finish_reason"` than the one `finish` found at `at`. */
  anotherFinish(at: number, from: number, to: number): boolean {
    if (!this.#finishForward) return this.#text.lastIndexOf(FINISH_KEY, at - 1) >= from;
    const next = this.#text.indexOf(FINISH_KEY, at + 1);
    return next !== -1 && next < to;
  }
}

/** Skips white space and the colon after a member's key: where its value starts, or -1. */
function valueAt(text: string, at: number, to: number): number {
  let i = at;
  while (i < to && (text[i] === ' ' || text[i] === '\t')) i++;
  if (text[i] !== ':') return -1;
  i++;
  while (i < to && (text[i] === ' ' || text[i] === '\t')) i++;
  return i < to ? i : -1;
}

/**
 * Pass-through. Events in the common framing (one `data: ` line each, LF line ends) leave as the
 * provider's own bytes: each is scanned for the keys that matter (usage, error, finish reason) and
 * only events that carry a usage object or an error are parsed; the usage-only event the gateway
 * asked for is cut out at its boundaries. Other framings (CRLF, comments, `event:` or multi-line
 * fields) are re-framed event by event; raw events are kept for an estimate should the stream
 * break off.
 */
export class OpenAIPassthrough implements PassthroughStream {
  readonly #state = new MutableStreamState();
  readonly #kept = new RawEventKeeper();
  readonly #dropUsageEvent: boolean;
  #modelSeen = false;
  /** Bytes after the last complete event. */
  #pending: Buffer | undefined;
  /** Set once the stream uses CR line ends: from then on every event goes through the SSE reader. */
  #reader: SSEReader | undefined;
  readonly #keys = new KeyScan();

  constructor(options: { dropUsageEvent: boolean }) {
    this.#dropUsageEvent = options.dropUsageEvent;
    this.#state.setLazyText(() => this.#kept.text(chunkText));
  }

  get state(): StreamState {
    return this.#state;
  }

  push(bytes: Buffer): string | Buffer {
    if (this.#reader) return this.#relay(this.#reader.push(bytes));
    const pending = this.#pending;
    const buf = pending ? Buffer.concat([pending, bytes], pending.length + bytes.length) : bytes;
    this.#pending = undefined;
    const text = buf.toString('latin1');
    if (text.includes('\r')) {
      // The reader starts at an event boundary: everything before `buf` was complete events.
      this.#reader = new SSEReader();
      return this.#relay(this.#reader.push(buf));
    }
    return this.#pass(buf, text);
  }

  end(): string | Buffer {
    if (this.#reader) return this.#relay(this.#reader.end());
    const rest = this.#pending;
    this.#pending = undefined;
    if (!rest) return NOTHING;
    // An event without its final blank line still counts.
    const reader = new SSEReader();
    return this.#relay([...reader.push(rest), ...reader.end()]);
  }

  /**
   * The complete events of `buf`; what follows the last one waits. The scan reads a latin1 copy
   * (one character per byte, so its positions are the buffer's), where string search is cheap.
   */
  #pass(buf: Buffer, text: string): string | Buffer {
    this.#keys.reset(text);
    let pos = 0;
    let runStart = 0;
    let pieces: Array<string | Buffer> | undefined;
    for (;;) {
      // A single-line event ends at its first LF, followed by another.
      const lf = text.indexOf('\n', pos);
      if (lf === -1 || lf + 1 >= text.length) break;
      let boundary = lf;
      if (text.charCodeAt(lf + 1) !== 0x0a) {
        boundary = text.indexOf('\n\n', lf);
        if (boundary === -1) break;
      }
      const next = boundary + 2;
      const simple = boundary === lf && boundary > pos + 6 && text.startsWith('data: ', pos);
      if (!simple || this.#observe(buf, text, pos + 6, boundary)) {
        pieces ??= [];
        if (pos > runStart) pieces.push(this.#keepRun(buf.subarray(runStart, pos)));
        if (!simple) {
          const reader = new SSEReader();
          const framed = this.#relay(reader.push(buf.subarray(pos, next)));
          if (framed) pieces.push(framed);
        }
        runStart = next;
      }
      pos = next;
    }
    if (pos < buf.length) this.#pending = buf.subarray(pos);
    const run = pos > runStart ? this.#keepRun(buf.subarray(runStart, pos)) : NOTHING;
    if (!pieces) return run;
    if (run.length > 0) pieces.push(run);
    return pieces.length === 1
      ? pieces[0]!
      : Buffer.concat(pieces.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));
  }

  #keepRun(run: Buffer): Buffer {
    this.#kept.keepEvents(run);
    return run;
  }

  /**
   * One `data: ` event, payload in [from, to) of the buffer and its latin1 text: notes what
   * metering needs; true when it must not reach the client.
   */
  #observe(buf: Buffer, text: string, from: number, to: number): boolean {
    if (to - from === 6 && text.startsWith('[DONE]', from)) {
      this.#state.finished = true;
      return false;
    }
    if (!this.#modelSeen) {
      const at = text.indexOf(MODEL_KEY, from);
      if (at !== -1 && at < to) {
        const start = at + MODEL_KEY.length;
        const end = text.indexOf('"', start);
        if (end !== -1 && end < to) this.#state.responseModel = buf.toString('utf8', start, end);
        this.#modelSeen = true;
      }
    }
    if (this.#needsParse(text, from, to)) return this.#inspect(buf.toString('utf8', from, to), false);
    const finish = this.#keys.finish(from, to);
    if (finish !== -1 && this.#keys.anotherFinish(finish, from, to)) {
      // Several choices in one event: the first finish reason, as from a re-framed event.
      this.#noteFinish(buf.toString('utf8', from, to));
    } else if (finish !== -1) {
      const value = valueAt(text, finish + FINISH_KEY.length, to);
      if (value !== -1 && text[value] === '"') {
        const end = text.indexOf('"', value + 1);
        if (end !== -1 && end < to) {
          this.#state.finished = true;
          this.#state.addFinishReason(buf.toString('utf8', value + 1, end));
        }
      }
    }
    return false;
  }

  /** An error, or a usage object (`"usage":null` on every chunk does not count). */
  #needsParse(text: string, from: number, to: number): boolean {
    let at = this.#keys.rare(from, to);
    while (at !== -1) {
      if (text.charCodeAt(at + 1) === 0x65) return true;
      let i = at + RARE_KEY_LENGTH;
      while (i < to && (text[i] === ' ' || text[i] === ':')) i++;
      if (text[i] === '{') return true;
      at = this.#keys.rare(at + 1, to);
    }
    return false;
  }

  /** Events the SSE reader framed (any framing): re-framed as they came. */
  #relay(events: SSEEvent[]): string {
    let out = '';
    for (const { event, data } of events) {
      if (data === '[DONE]') {
        this.#state.finished = true;
        out += frameEvent(event, data);
        continue;
      }
      if (!this.#modelSeen) this.#readModel(data);
      if (hasUsageObject(data) || looksLikeError(data)) {
        if (this.#inspect(data, true)) continue;
      } else {
        this.#kept.keep(data);
        this.#noteFinish(data);
      }
      out += frameEvent(event, data);
    }
    return out;
  }

  #noteFinish(data: string): void {
    const finish = FINISHED.exec(data);
    if (finish) {
      this.#state.finished = true;
      this.#state.addFinishReason(finish[1]!);
    }
  }

  #readModel(data: string): void {
    const at = data.indexOf('"model":"');
    if (at === -1) return;
    const end = data.indexOf('"', at + 9);
    if (end !== -1) this.#state.responseModel = data.slice(at + 9, end);
    this.#modelSeen = true;
  }

  /**
   * Parses an event with usage or an error; returns true when it must not reach the client.
   * `keep`: keep its payload for an estimate (events passed as bytes are kept with their run).
   */
  #inspect(data: string, keep: boolean): boolean {
    let json: unknown;
    try {
      json = JSON.parse(data);
    } catch {
      return false;
    }
    if (!isRecord(json)) return false;
    if (isRecord(json.error) && !Array.isArray(json.choices)) {
      this.#state.error ??= openAIStreamError(json.error);
      return false;
    }
    const usage = usageFromOpenAI(json.usage);
    const choices = Array.isArray(json.choices) ? json.choices : [];
    if (choices.length > 0) {
      if (keep) this.#kept.keep(data);
      if (noteFinishReasons(this.#state, choices)) this.#state.finished = true;
    }
    if (usage) this.#state.usage = usage;
    return usage !== undefined && choices.length === 0 && this.#dropUsageEvent;
  }
}
