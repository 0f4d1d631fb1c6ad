// Model globs ("gpt-4o*", "claude-*-sonnet*") match without regular expressions, so a crafted
// model name cannot make them backtrack; these cases pin down what they match.
import { globMatcher, globMatches } from '../../src/router/glob.ts';

describe('globMatcher', () => {
  test.each([
    ['gpt-4o', 'gpt-4o', true],
    ['gpt-4o', 'gpt-4o-mini', false],
    ['gpt-4o*', 'gpt-4o', true],
    ['gpt-4o*', 'gpt-4o-mini', true],
    ['gpt-4o*', 'gpt-4', false],
    ['*-mini', 'gpt-4o-mini', true],
    ['*-mini', 'gpt-4o-mini-2024', false],
    ['claude-*-sonnet*', 'claude-3-5-sonnet-latest', true],
    ['claude-*-sonnet*', 'claude-sonnet', false],
    ['a*a', 'a', false],
    ['a*a', 'aa', true],
    ['*', '', true],
    ['**', 'anything', true],
    ['a*b*c', 'abc', true],
    ['a*b*c', 'acb', false],
    ['a*b*c', 'a-b-b-c-c', true],
    ['x.y*', 'xzy-1', false],
    ['(a+)+*', '(a+)+!', true],
    ['multi*line', 'multi\nline', true],
  ])('%s matches %j: %s', (pattern, value, expected) => {
    expect(globMatcher(pattern)(value)).toBe(expected);
    expect(globMatches(pattern, value)).toBe(expected);
  });

  test('answers a long model name built to backtrack a regex glob', () => {
    // As the regex ^.*-.*-.*-x$ this input costs on the order of n^3 steps.
    expect(globMatcher('*-*-*-x')('-'.repeat(200_000))).toBe(false);
    expect(globMatcher('claude-*-sonnet*')(`claude-${'-sonnet'.repeat(100_000)}\n`)).toBe(true);
  });
});
