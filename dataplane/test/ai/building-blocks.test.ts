// The small pieces the AI path is built from: JSON splicing, exact prices, SSE framing, retry hints.
import { retryAfterMs } from '../../src/ai/formats/http.ts';
import { frameEvent, SSEReader } from '../../src/ai/formats/sse.ts';
import { spliceJson } from '../../src/ai/json-splice.ts';
import { compilePricing, costMicros, parseDecimal } from '../../src/ai/metering/pricing.ts';
import type { Usage } from '../../src/ai/metering/usage.ts';

describe('spliceJson', () => {
  test('replaces a top-level member and leaves every other byte alone', () => {
    const text = '{ "model" : "a", "messages": [{"model": "inner", "content": "}{\\"model\\""}], "n": 1 }';
    const out = spliceJson(text, { model: '"b"' });
    expect(out).toBe(
      '{ "model" : "b", "messages": [{"model": "inner", "content": "}{\\"model\\""}], "n": 1 }',
    );
  });

  test('inserts missing members first and removes members with their comma', () => {
    expect(spliceJson('{"stream":true}', { stream_options: '{"include_usage":true}' })).toBe(
      '{"stream_options":{"include_usage":true},"stream":true}',
    );
    expect(spliceJson('{}', { a: '1' })).toBe('{"a":1}');
    expect(JSON.parse(spliceJson('{"a":1,"b":2,"c":3}', { b: undefined }))).toEqual({ a: 1, c: 3 });
    expect(JSON.parse(spliceJson('{"a":1,"b":2}', { b: undefined }))).toEqual({ a: 1 });
    expect(JSON.parse(spliceJson('{"b":2}', { b: undefined, c: '3' }))).toEqual({ c: 3 });
  });

  test('replaces every occurrence of a repeated name (the last one is what parsers keep)', () => {
    expect(JSON.parse(spliceJson('{"model":"a","x":null,"model":"c"}', { model: '"z"' }))).toEqual({
      model: 'z',
      x: null,
    });
  });

  test('returns the very same text when there is nothing to change', () => {
    const text = '{"model":"a"}';
    expect(spliceJson(text, {})).toBe(text);
  });
});

describe('pricing', () => {
  const usage = (input: number, output: number, cached = 0, written = 0): Usage => ({
    inputTokens: input,
    outputTokens: output,
    cachedInputTokens: cached,
    cacheWriteTokens: written,
    reasoningTokens: 0,
    estimated: false,
  });

  test('decimal prices become exact integers', () => {
    expect(parseDecimal('2.50')).toBe(2_500_000_000_000n);
    expect(parseDecimal('0.000000000001')).toBe(1n);
    expect(() => parseDecimal('1e-3')).toThrow(/decimal/);
  });

  test('cost is tokens × price per million in micro-units, rounded once', () => {
    const pricing = compilePricing({ currency: 'USD', inputPerMillion: '2.50', outputPerMillion: '10' });
    expect(costMicros(usage(1_000_000, 0), pricing)).toBe(2_500_000);
    expect(costMicros(usage(3, 1), pricing)).toBe(18); // 7.5 + 10 = 17.5 → 18
    // 0.1 + 0.2 in floating point is not 0.3; here it is.
    const tenth = compilePricing({ inputPerMillion: '0.1', outputPerMillion: '0.2' });
    expect(costMicros(usage(10, 10), tenth)).toBe(3);
  });

  test('cached and cache-write tokens use their prices, defaulting to the input price', () => {
    const pricing = compilePricing({
      inputPerMillion: '3',
      outputPerMillion: '15',
      cachedInputPerMillion: '0.30',
      cacheWritePerMillion: '3.75',
    });
    // 100 input of which 50 cached and 20 written: 30 × 3 + 50 × 0.3 + 20 × 3.75 + 10 × 15 = 330
    expect(costMicros(usage(100, 10, 50, 20), pricing)).toBe(330);
    const defaults = compilePricing({ inputPerMillion: '3', outputPerMillion: '15' });
    expect(costMicros(usage(100, 0, 50, 20), defaults)).toBe(300);
  });
});

describe('SSEReader', () => {
  const data = (events: Array<{ data: string }>) => events.map((e) => e.data);

  test('reads events whatever the line ends, comments and splits, multi-byte characters included', () => {
    const wire = Buffer.from(
      ': hello\r\nevent: a\r\ndata: café ☕\r\n\r\ndata: {"x":1}\rdata: more\r\rdata: last\n\n',
      'utf8',
    );
    const reader = new SSEReader();
    const events = [];
    for (let i = 0; i < wire.length; i += 3) events.push(...reader.push(wire.subarray(i, i + 3)));
    events.push(...reader.end());
    expect(data(events)).toEqual(['café ☕', '{"x":1}\nmore', 'last']);
    expect(events[0]!.event).toBe('a');
  });

  test('an event without its final blank line still counts at the end of the stream', () => {
    const reader = new SSEReader();
    expect(reader.push(Buffer.from('data: [DONE]'))).toEqual([]);
    expect(data(reader.end())).toEqual(['[DONE]']);
  });

  test('frameEvent writes multi-line data as several data lines', () => {
    expect(frameEvent('x', 'a\nb')).toBe('event: x\ndata: a\ndata: b\n\n');
    expect(frameEvent(undefined, '{}')).toBe('data: {}\n\n');
  });
});

describe('retryAfterMs', () => {
  test('reads retry-after-ms, seconds and HTTP dates, capped at five minutes', () => {
    expect(retryAfterMs({ 'retry-after-ms': '1500' })).toBe(1500);
    expect(retryAfterMs({ 'retry-after': '7' })).toBe(7000);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs({ 'retry-after': 'Thu, 01 Jan 2026 00:00:30 GMT' }, now)).toBe(30_000);
    expect(retryAfterMs({ 'retry-after': '86400' })).toBe(300_000);
    expect(retryAfterMs({ 'retry-after': 'soon' })).toBeUndefined();
    expect(retryAfterMs({})).toBeUndefined();
  });
});
