// Router: host tiers, path precedence, prefix segments, regexes, method/header/query conditions.
import { compileRouter, type MatchInput, normalizeHost, pathSegments } from '../../src/router/index.ts';
import { entry, snapshotOf } from '../helpers.ts';

function lookup(
  router: ReturnType<typeof compileRouter>,
  host: string | undefined,
  url: string,
  extra: Partial<MatchInput> = {},
) {
  const q = url.indexOf('?');
  const match = router.match({
    host,
    path: q === -1 ? url : url.slice(0, q),
    query: q === -1 ? undefined : url.slice(q + 1),
    method: 'GET',
    headers: {},
    ...extra,
  });
  return match?.entry.ir.id;
}

describe('host tiers', () => {
  const router = compileRouter(
    snapshotOf({
      'shop.example.com': [
        entry('shop-cart', { path: ['Exact', '/cart'] }),
        entry('shop-api', { path: ['PathPrefix', '/api'] }),
      ],
      '*.example.com': [entry('wild-only', { path: ['PathPrefix', '/only-wild'] }), entry('wild-root')],
      '*.b.example.com': [entry('deep-wild')],
      '*': [entry('any-health', { path: ['Exact', '/health'] }), entry('any-root')],
    }),
  );

  test.each([
    ['an exact host', 'shop.example.com', '/cart', 'shop-cart'],
    ['a host in any case and with a port', 'SHOP.Example.COM:8080', '/cart', 'shop-cart'],
    ['a host with a trailing dot', 'shop.example.com.', '/cart', 'shop-cart'],
    ['a prefix on the exact host', 'shop.example.com', '/api/orders', 'shop-api'],
    ['the wildcard tier when no entry of the exact host matches', 'shop.example.com', '/other', 'wild-root'],
    ['a wildcard for one leading label', 'x.example.com', '/anything', 'wild-root'],
    ['a wildcard for several leading labels', 'a.x.example.com', '/only-wild/y', 'wild-only'],
    ['the longest wildcard suffix first', 'a.b.example.com', '/', 'deep-wild'],
    ['a shorter wildcard for the bare suffix host', 'b.example.com', '/', 'wild-root'],
    ['the catch-all for the apex (a wildcard needs a leading label)', 'example.com', '/', 'any-root'],
    ['the catch-all for an unknown host', 'other.org', '/health', 'any-health'],
    ['the catch-all when Host is missing', undefined, '/x', 'any-root'],
    ['the catch-all for an IPv6 literal', '[::1]:8080', '/', 'any-root'],
  ])('routes %s', (_what, host, url, expected) => {
    expect(lookup(router, host, url)).toBe(expected);
  });

  test('answers nothing when no tier has a matching entry', () => {
    const narrow = compileRouter(snapshotOf({ 'a.test': [entry('a', { path: ['Exact', '/x'] })] }));
    expect(lookup(narrow, 'a.test', '/y')).toBeUndefined();
    expect(lookup(narrow, 'b.test', '/x')).toBeUndefined();
  });

  test('normalises hosts', () => {
    expect(normalizeHost('Api.Example.COM:443')).toBe('api.example.com');
    expect(normalizeHost('[2001:db8::1]:8443')).toBe('[2001:db8::1]');
    expect(normalizeHost('example.com.')).toBe('example.com');
    expect(normalizeHost(undefined)).toBe('');
  });
});

describe('path precedence within a host', () => {
  // In the order the translator emits: Exact, RegularExpression, PathPrefix longest first.
  const router = compileRouter(
    snapshotOf({
      'paths.test': [
        entry('exact-ab', { path: ['Exact', '/a/b'] }),
        entry('regex-num', { path: ['RegularExpression', '/a/[0-9]+'] }),
        entry('prefix-abc', { path: ['PathPrefix', '/a/b/c'] }),
        entry('prefix-docs', { path: ['PathPrefix', '/docs/'] }),
        entry('prefix-ab', { path: ['PathPrefix', '/a/b'] }),
        entry('prefix-a', { path: ['PathPrefix', '/a'] }),
        entry('prefix-root', { path: ['PathPrefix', '/'] }),
      ],
    }),
  );

  test.each([
    ['/a/b', 'exact-ab', 'an exact path wins over prefixes'],
    ['/a/b/', 'prefix-ab', 'an exact path does not match with a trailing slash'],
    ['/a/123', 'regex-num', 'a regex wins over prefixes'],
    ['/a/123/x', 'prefix-a', 'a regex matches the whole path only'],
    ['/xa/123', 'prefix-root', 'a regex is anchored at the start'],
    ['/a/b/c/d', 'prefix-abc', 'the longest prefix wins'],
    ['/a/b/c', 'prefix-abc', 'a prefix matches its own path'],
    ['/a/b/cd', 'prefix-ab', 'a prefix matches whole segments only'],
    ['/a', 'prefix-a', 'a prefix matches without a trailing slash'],
    ['/a/', 'prefix-a', 'a prefix matches with a trailing slash'],
    ['/ab', 'prefix-root', '"/a" does not match "/ab"'],
    ['/A/b', 'prefix-root', 'paths are case-sensitive'],
    ['/docs', 'prefix-docs', 'a prefix written with a trailing slash matches the bare path'],
    ['/docs/guide', 'prefix-docs', 'a prefix written with a trailing slash matches below it'],
    ['/docsx', 'prefix-root', 'a prefix written with a trailing slash still matches whole segments'],
    ['/', 'prefix-root', 'the root prefix matches "/"'],
  ])('%s → %s (%s)', (path, expected) => {
    expect(lookup(router, 'paths.test', path)).toBe(expected);
  });

  test('splits paths into non-empty segments', () => {
    expect(pathSegments('/')).toEqual([]);
    expect(pathSegments('/a/b/')).toEqual(['a', 'b']);
    expect(pathSegments('/a//b')).toEqual(['a', 'b']);
  });
});

describe('method, header and query conditions', () => {
  const router = compileRouter(
    snapshotOf({
      'cond.test': [
        entry('login-post', { path: ['Exact', '/login'], method: 'POST' }),
        entry('api-post', { path: ['PathPrefix', '/api'], method: 'POST' }),
        entry('api-canary', { path: ['PathPrefix', '/api'], headers: [['Exact', 'x-env', 'canary']] }),
        entry('api-v12', {
          path: ['PathPrefix', '/api'],
          headers: [['RegularExpression', 'X-Version', 'v[12]']],
        }),
        entry('api-debug', { path: ['PathPrefix', '/api'], query: [['Exact', 'debug', '1']] }),
        entry('api-page-prod', {
          path: ['PathPrefix', '/api'],
          query: [['RegularExpression', 'page', '\\d+']],
          headers: [['Exact', 'x-env', 'prod']],
        }),
        entry('api-default', { path: ['PathPrefix', '/api'] }),
        entry('root'),
      ],
    }),
  );

  test.each<[string, string, Record<string, string>, string, string]>([
    ['POST', '/api/x', {}, 'api-post', 'a method condition'],
    ['GET', '/api/x', { 'x-env': 'canary' }, 'api-canary', 'an exact header'],
    ['POST', '/api/x', { 'x-env': 'canary' }, 'api-post', 'the earlier entry when both match'],
    ['GET', '/api/x', { 'x-env': 'CANARY' }, 'api-default', 'header values are case-sensitive'],
    ['GET', '/api/x', { 'x-version': 'v2' }, 'api-v12', 'a header regex (names are case-insensitive)'],
    ['GET', '/api/x', { 'x-version': 'v22' }, 'api-default', 'a header regex matches the whole value'],
    ['GET', '/api/x?debug=1', {}, 'api-debug', 'an exact query parameter'],
    ['GET', '/api/x?debug=2', {}, 'api-default', 'a query parameter with another value'],
    ['GET', '/api/x?page=3', { 'x-env': 'prod' }, 'api-page-prod', 'a query regex together with a header'],
    ['GET', '/api/x?page=3', {}, 'api-default', 'all conditions of an entry must hold'],
    ['GET', '/api/x?page=x3', { 'x-env': 'prod' }, 'api-default', 'a query regex matches the whole value'],
    ['GET', '/login', {}, 'root', 'an exact path whose method differs falls through to prefixes'],
    ['POST', '/login', {}, 'login-post', 'an exact path with its method'],
  ])('%s %s %j → %s (%s)', (method, url, headers, expected) => {
    expect(lookup(router, 'cond.test', url, { method, headers })).toBe(expected);
  });
});

describe('model conditions', () => {
  const router = compileRouter(
    snapshotOf({
      '*': [
        entry('gpt4', { path: ['PathPrefix', '/v1'], model: { type: 'Exact', value: 'gpt-4o' } }),
        entry('claude', { path: ['PathPrefix', '/v1'], model: { type: 'Glob', value: 'claude-*' } }),
        entry('other', { path: ['PathPrefix', '/v1'] }),
      ],
    }),
  );

  test('are checked when the request names a model', () => {
    expect(lookup(router, 'x', '/v1/chat', { model: 'gpt-4o' })).toBe('gpt4');
    expect(lookup(router, 'x', '/v1/chat', { model: 'claude-3.5' })).toBe('claude');
    expect(lookup(router, 'x', '/v1/chat', { model: 'llama' })).toBe('other');
  });

  test('are not checked while the model is unknown', () => {
    expect(lookup(router, 'x', '/v1/chat')).toBe('gpt4');
  });
});

test('rejects a snapshot with an invalid regular expression, naming the entry', () => {
  expect(() =>
    compileRouter(
      snapshotOf({ 'x.test': [entry('bad-regex', { path: ['RegularExpression', '/a/(unclosed'] })] }),
    ),
  ).toThrow(/bad-regex/);
  expect(() =>
    compileRouter(
      snapshotOf({ 'x.test': [entry('bad-header', { headers: [['RegularExpression', 'x', '[']] })] }),
    ),
  ).toThrow(/bad-header/);
});

test('attaches compile-time data to every entry', () => {
  const router = compileRouter(
    snapshotOf({ '*': [entry('b', { path: ['Exact', '/b'] }), entry('a')] }),
    (ir) => `plan:${ir.id}`,
  );
  expect(router.entryCount).toBe(2);
  expect(router.match({ host: 'h', path: '/b', method: 'GET', headers: {} })?.entry.data).toBe('plan:b');
});
