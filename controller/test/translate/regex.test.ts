// The rule for user regexes (Route matches, guardrail deny patterns): valid in both ECMAScript and
// RE2, compiled program within the size cap. Patterns that only a backtracking engine would choke
// on are accepted, since the data plane runs a linear-time engine; the verdict is a pure function
// of the pattern.
import { anchorRegex, MAX_PROGRAM_SIZE, regexProblem } from '../../src/translate/regex.ts';

describe('regexProblem', () => {
  test.each([
    '^/api/v[0-9]+/.*',
    '/api/v[0-9]+/users/[0-9]+',
    '/users/(?<id>[0-9]+)',
    '/files/[(?=]+\\.txt',
    '\\p{L}{2}',
    '.*foo.*',
    '/a/.*/b/.*',
    '(?:/[a-z0-9-]+)*',
    '/api/v[0-9]+/(users|groups|teams)/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}',
    '(?i:project\\s+bluebird)',
    // Exponential in a backtracking engine, linear in the data plane's.
    '(a+)+$',
    '(a|aa)*b',
    '(x+x+)+y',
  ])('accepts %s', (pattern) => {
    expect(regexProblem(pattern, 'whole')).toBeUndefined();
    expect(regexProblem(pattern, 'search')).toBeUndefined();
  });

  test.each([
    ['(.*a){20}', /is too complex: it compiles to 10\d instructions, more than the 100 allowed/],
    ['(?:[a-z]{1,10}){1,20}', /is too complex: it compiles to \d+ instructions/],
    ['\\u0041', /is outside the RE2 subset the gateway runs: invalid escape sequence: `\\u`.*\\xHH/],
    ['\\p{Script=Greek}', /is outside the RE2 subset the gateway runs/],
    ['a{1001}', /is outside the RE2 subset the gateway runs: invalid repeat count/],
    ['(a)\\1', /uses a backreference "\\1": only the RE2 subset is supported/],
    ['a(?=b)', /uses a lookahead "\(\?=": only the RE2 subset is supported/],
    ['/(a', /is not a valid regular expression: Unterminated group/],
    ['(?i)abc', /is not a valid regular expression/],
  ])('refuses %s with a message that says why', (pattern, message) => {
    expect(regexProblem(pattern)).toMatch(message);
    expect(regexProblem(pattern, 'search')).toMatch(message);
  });

  test('tells how to fix a pattern that is too complex', () => {
    expect(regexProblem('(.*a){20}')).toContain('simplify it');
  });

  test('measures the pattern as the data plane runs it: anchored for route matches', () => {
    // 99 instructions unanchored, over the cap once wrapped in ^(?:…)$.
    const pattern = 'a'.repeat(MAX_PROGRAM_SIZE - 3);
    expect(regexProblem(pattern, 'search')).toBeUndefined();
    expect(regexProblem(pattern, 'whole')).toMatch(/is too complex/);
    expect(anchorRegex('x')).toBe('^(?:x)$');
  });

  test('gives the same verdict every time', () => {
    const verdicts = () => ['(.*a){20}', '(a|aa)*b', '\\u0041'].map((p) => regexProblem(p));
    expect(verdicts()).toEqual(verdicts());
  });
});
