// The OpenAI pass-through stream on its own: provider bytes in any split → what the client gets
// and what metering reads. Most events leave as the provider's own bytes, so the tests compare
// bytes, for every way the provider's writes can be cut.
import { OpenAIPassthrough } from '../../src/ai/formats/openai/stream.ts';

const chunk = (content: string, finish: string | null, extra = ''): string =>
  `data: {"id":"c1","object":"chat.completion.chunk","model":"gpt-4o-2024","choices":[{"index":0,"delta":{"content":${JSON.stringify(content)}},"finish_reason":${finish === null ? 'null' : JSON.stringify(finish)}}]${extra}}\n\n`;
const usageEvent =
  'data: {"id":"c1","object":"chat.completion.chunk","model":"gpt-4o-2024","choices":[],"usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10}}\n\n';
const done = 'data: [DONE]\n\n';

interface Relayed {
  out: string;
  pass: OpenAIPassthrough;
}

function relay(parts: string[], dropUsageEvent: boolean): Relayed {
  const pass = new OpenAIPassthrough({ dropUsageEvent });
  let out = '';
  for (const part of parts) out += pass.push(Buffer.from(part)).toString();
  out += pass.end().toString();
  return { out, pass };
}

/** The stream (as latin1: one char a byte) whole, cut in two at every byte, and in single bytes. */
function everySplit(stream: string): string[][] {
  const bytes = Buffer.from(stream);
  const splits: string[][] = [[bytes.toString('latin1')]];
  for (let i = 1; i < bytes.length; i++)
    splits.push([bytes.subarray(0, i).toString('latin1'), bytes.subarray(i).toString('latin1')]);
  splits.push([...bytes].map((b) => String.fromCharCode(b)));
  return splits;
}

function relayLatin1(parts: string[], dropUsageEvent: boolean): Relayed {
  const pass = new OpenAIPassthrough({ dropUsageEvent });
  const out: Buffer[] = [];
  for (const part of parts) out.push(Buffer.from(pass.push(Buffer.from(part, 'latin1'))));
  out.push(Buffer.from(pass.end()));
  return { out: Buffer.concat(out).toString('utf8'), pass };
}

describe('OpenAIPassthrough', () => {
  const body = chunk('Hé', null) + chunk(' ☕', null) + chunk('', 'stop') + usageEvent + done;

  test('passes the events through byte for byte and cuts out the usage-only event it was told to, in any split', () => {
    for (const parts of everySplit(body)) {
      const { out, pass } = relayLatin1(parts, true);
      expect(out).toBe(chunk('Hé', null) + chunk(' ☕', null) + chunk('', 'stop') + done);
      expect(pass.state.usage).toMatchObject({ inputTokens: 7, outputTokens: 3, estimated: false });
      expect(pass.state.finished).toBe(true);
      expect(pass.state.finishReasons).toEqual(['stop']);
      expect(pass.state.responseModel).toBe('gpt-4o-2024');
    }
  });

  test('keeps the usage event when the client asked for it', () => {
    const { out, pass } = relay([body], false);
    expect(out).toBe(body);
    expect(pass.state.usage?.outputTokens).toBe(3);
  });

  test('"usage":null on every chunk is not usage; usage on the final chunk with choices is kept and read', () => {
    const stream =
      chunk('a', null, ',"usage":null') +
      chunk('b', 'length', ',"usage": {"prompt_tokens":2,"completion_tokens":2,"total_tokens":4}') +
      done;
    const { out, pass } = relay([stream], true);
    expect(out).toBe(stream);
    expect(pass.state.usage).toMatchObject({ inputTokens: 2, outputTokens: 2 });
    expect(pass.state.finishReasons).toEqual(['length']);
  });

  test('an error event is noted and passed on', () => {
    const error = 'data: {"error":{"message":"overloaded","type":"server_error"}}\n\n';
    const { out, pass } = relay([chunk('a', null), error], true);
    expect(out).toBe(chunk('a', null) + error);
    expect(pass.state.error).toBeDefined();
    expect(pass.state.finished).toBe(false);
  });

  test('other framings are re-framed: CRLF, comments, event fields, multi-line data, no space after the colon', () => {
    const crlf = `${chunk('a', null)}: keep-alive\n\ndata:${chunk('b', null).slice(5)}`.replaceAll(
      '\n',
      '\r\n',
    );
    const { out, pass } = relay([chunk('x', null), crlf, usageEvent.replaceAll('\n', '\r\n'), done], true);
    expect(out).toBe(chunk('x', null) + chunk('a', null) + chunk('b', null) + done);
    expect(pass.state.usage?.inputTokens).toBe(7);

    const mixed = `: ping\n\nevent: message\n${chunk('a', null)}data: {"choices":\ndata: []}\n\n\n\n${chunk('b', 'stop')}`;
    const second = relay([mixed], true);
    expect(second.out).toBe(
      `event: message\n${chunk('a', null)}data: {"choices":\ndata: []}\n\n${chunk('b', 'stop')}`,
    );
    expect(second.pass.state.finishReasons).toEqual(['stop']);
  });

  test('an event without its final blank line still counts at the end', () => {
    const { out, pass } = relay([chunk('a', null), 'data: [DONE]'], true);
    expect(out).toBe(chunk('a', null) + done);
    expect(pass.state.finished).toBe(true);
  });

  test('the generated text is recovered from the raw events, in order, for an estimate', () => {
    const crlfPart = chunk('c', null).replaceAll('\n', '\r\n');
    const { pass } = relay([chunk('a', null) + chunk('b', null), crlfPart, chunk('d', null)], true);
    expect(pass.state.generatedText()).toBe('abcd');
    const plain = relay([body], true);
    expect(plain.pass.state.generatedText()).toBe('Hé ☕');
  });
});

describe('OpenAIPassthrough with several choices per event', () => {
  test('the first finish reason of an event is the one noted, as when re-framed', () => {
    const event = (finishes: Array<string | null>): string =>
      `data: {"choices":[${finishes.map((f, index) => `{"index":${index},"delta":{},"finish_reason":${f === null ? 'null' : `"${f}"`}}`).join(',')}]}\n\n`;
    for (const [finishes, expected] of [
      [['stop', null], ['stop']],
      [[null, 'length'], ['length']],
      [['stop', 'length'], ['stop']],
      [[null, null], undefined],
    ] as const) {
      const pass = new OpenAIPassthrough({ dropUsageEvent: true });
      pass.push(Buffer.from(event([...finishes]) + event([null])));
      expect(pass.state.finishReasons).toEqual(expected);
      const crlf = new OpenAIPassthrough({ dropUsageEvent: true });
      crlf.push(Buffer.from((event([...finishes]) + event([null])).replaceAll('\n', '\r\n')));
      expect(crlf.state.finishReasons).toEqual(expected);
    }
  });
});
