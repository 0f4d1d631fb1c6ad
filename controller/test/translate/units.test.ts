// The translator's small building blocks, each against its edge cases.
import { apiKeyHash } from '../../src/translate/consumers.ts';
import { durationToMs } from '../../src/translate/durations.ts';
import { normalizePrefix } from '../../src/translate/matches.ts';
import { ObjectIndex } from '../../src/translate/objects.ts';
import { compareHostnames } from '../../src/translate/precedence.ts';
import { anchorRegex, REGEX_FLAGS, regexProblem } from '../../src/translate/regex.ts';
import { readSecretKey } from '../../src/translate/secrets.ts';
import { parseUpstreamURL } from '../../src/translate/upstream-url.ts';

describe('durationToMs', () => {
  test.each([
    ['500ms', 500],
    ['10s', 10_000],
    ['1m30s', 90_000],
    ['1h', 3_600_000],
    ['1h2m3s4ms', 3_723_004],
    ['0s', 0],
  ])('reads %s as %i ms', (value, ms) => {
    expect(durationToMs(value)).toBe(ms);
  });

  test.each(['', '10', 's', '10 s', '1.5s', '10sec', '-1s', '5d'])('refuses %j', (value) => {
    expect(durationToMs(value)).toBeUndefined();
  });
});

describe('regexProblem', () => {
  test.each(['/api/.*', '/users/(?<id>[0-9]+)', '[(?=]', 'a|b', '\\p{L}+', '[\\]]x', '(?:a)+', '\\\\1'])(
    'accepts %j',
    (pattern) => {
      expect(regexProblem(pattern)).toBeUndefined();
    },
  );

  test.each([
    ['(a', 'not a valid regular expression: Unterminated group'],
    ['a(?=b)', 'lookahead'],
    ['a(?!b)', 'lookahead'],
    ['(?<=a)b', 'lookbehind'],
    ['(?<!a)b', 'lookbehind'],
    ['(a)\\1', 'backreference'],
    ['(?<x>a)\\k<x>', 'named backreference'],
    ['\\-', 'not a valid regular expression'],
  ])('refuses %j (%s)', (pattern, problem) => {
    expect(regexProblem(pattern)).toContain(problem);
  });

  test('anchored patterns match whole values only', () => {
    const regex = new RegExp(anchorRegex('/a|/b'), REGEX_FLAGS);
    expect(regex.test('/a')).toBe(true);
    expect(regex.test('/b')).toBe(true);
    expect(regex.test('/ab')).toBe(false);
    expect(regex.test('x/a')).toBe(false);
  });
});

describe('normalizePrefix', () => {
  test.each([
    ['/', '/'],
    ['//', '/'],
    ['/api/', '/api'],
    ['/api//', '/api'],
    ['/api', '/api'],
  ])('%s → %s', (value, expected) => {
    expect(normalizePrefix(value)).toBe(expected);
  });
});

describe('compareHostnames', () => {
  test('orders exact names, then wildcards longest first, then "*"', () => {
    const hosts = ['*', '*.example.com', 'b.example.com', '*.a.example.com', 'a.example.com', '*.z.com'];
    expect(hosts.sort(compareHostnames)).toEqual([
      'a.example.com',
      'b.example.com',
      '*.a.example.com',
      '*.example.com',
      '*.z.com',
      '*',
    ]);
  });
});

describe('parseUpstreamURL', () => {
  test('fills default ports and keeps the authority a client would send', () => {
    expect(parseUpstreamURL('https://API.example.com/')).toEqual({
      ok: true,
      url: {
        scheme: 'https',
        host: 'api.example.com',
        port: 443,
        origin: 'https://api.example.com:443',
        authority: 'api.example.com',
        path: '',
      },
    });
    expect(parseUpstreamURL('http://[::1]:8080/v1/')).toMatchObject({
      ok: true,
      url: { host: '::1', port: 8080, origin: 'http://[::1]:8080', authority: '[::1]:8080', path: '/v1' },
    });
  });

  test.each([
    ['not a url', 'not a valid URL'],
    ['ftp://example.com', 'http:// or https://'],
    ['https://user:pass@example.com', 'credentials'],
    ['https://example.com/?a=1', 'query'],
  ])('refuses %j', (text, problem) => {
    const parsed = parseUpstreamURL(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.problem).toContain(problem);
  });
});

describe('readSecretKey', () => {
  const secret = (fields: Record<string, unknown>) => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 's', namespace: 'ns' },
    ...fields,
  });
  const read = (fields: Record<string, unknown>, key: string) =>
    readSecretKey(new ObjectIndex([secret(fields)]), 'ns', { name: 's', key });

  test('decodes base64 data and drops one trailing newline', () => {
    expect(read({ data: { k: Buffer.from('value\n').toString('base64') } }, 'k')).toEqual({
      ok: true,
      value: 'value',
    });
    expect(read({ data: { k: Buffer.from('value\r\n').toString('base64') } }, 'k')).toEqual({
      ok: true,
      value: 'value',
    });
  });

  test('prefers stringData over data', () => {
    expect(read({ stringData: { k: 'plain' }, data: { k: 'b3RoZXI=' } }, 'k')).toEqual({
      ok: true,
      value: 'plain',
    });
  });

  test('does not find keys on the object prototype', () => {
    expect(read({ stringData: {} }, 'constructor')).toMatchObject({ ok: false, reason: 'SecretKeyNotFound' });
  });

  test('reports an empty value as a missing key', () => {
    expect(read({ stringData: { k: '' } }, 'k')).toMatchObject({ ok: false, reason: 'SecretKeyNotFound' });
  });

  test('reports a Secret of another namespace as not found', () => {
    const index = new ObjectIndex([secret({ stringData: { k: 'v' } })]);
    expect(readSecretKey(index, 'other', { name: 's', key: 'k' })).toMatchObject({
      ok: false,
      reason: 'SecretNotFound',
    });
  });
});

describe('apiKeyHash', () => {
  test('is the lowercase hex SHA-256 of the key', () => {
    // printf 'key-a' | sha256sum
    expect(apiKeyHash('key-a')).toBe('f10f781241e2246678b6b45c857069208152a53863e47fac33f607ab405006f4');
  });
});
