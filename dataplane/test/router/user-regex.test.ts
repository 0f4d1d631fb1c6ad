// User patterns in the linear-time engine: the same answers RegExp gives for the syntax both share,
// whole-value vs search semantics, and a refusal (throw) for what the engine cannot compile.
import { searchRegex, wholeValueRegex } from '../../src/router/user-regex.ts';

describe('wholeValueRegex', () => {
  test.each([
    ['/users/(?<id>[0-9]+)', '/users/42', true],
    ['/users/(?<id>[0-9]+)', '/users/42/orders', false],
    ['a|ab', 'ab', true],
    ['v[12]|beta', 'xbeta', false],
    ['\\p{L}{2}', 'dé', true],
    ['\\p{L}{2}', '𝒜𝒞', true],
    ['(?i:application/json)', 'Application/JSON', true],
    ['^(?:/api/.*)$', '/api/x', true],
    ['(a+)+$', `${'a'.repeat(10_000)}!`, false],
  ])('%s on %j: %s', (source, value, expected) => {
    expect(wholeValueRegex(source).test(value)).toBe(expected);
    expect(new RegExp(`^(?:${source})$`, 'u').test(value.slice(0, 100))).toBe(
      wholeValueRegex(source).test(value.slice(0, 100)),
    );
  });
});

describe('searchRegex', () => {
  test('finds the pattern anywhere in a text', () => {
    const deny = searchRegex('(?i:project\\s+bluebird)');
    expect(deny.test('about Project  BLUEBIRD, later')).toBe(true);
    expect(deny.test('project redwing')).toBe(false);
  });

  test('answers a long text built to backtrack', () => {
    expect(searchRegex('(a|aa)*b').test('a'.repeat(200_000))).toBe(false);
    expect(searchRegex('(a+)+$').test(`${'a'.repeat(200_000)}!`)).toBe(false);
  });

  test('throws for a pattern outside RE2, so the snapshot is refused', () => {
    expect(() => searchRegex('a(?=b)')).toThrow();
    expect(() => wholeValueRegex('(a)\\1')).toThrow();
  });
});
