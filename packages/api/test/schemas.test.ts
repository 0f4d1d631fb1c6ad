// Behaviour of the zod schemas through parseObject: what is accepted, which defaults appear, and
// that every rejection names the offending field the way kubectl does.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { type AIProvider, type Consumer, type Policy, parseObject, type Route } from '../src/index.ts';
import { loadDocuments, nameOf, repoRoot, testdata } from './helpers.ts';
import { invalidManifests, meta, route } from './testdata/invalid-manifests.ts';

const fixtures = readdirSync(testdata)
  .filter((file) => file.startsWith('valid-'))
  .flatMap((file) => loadDocuments(join(testdata, file)));

const exampleDir = join(repoRoot, 'examples/standalone');
const examples = readdirSync(exampleDir)
  .filter((file) => file.endsWith('.yaml'))
  .flatMap((file) => loadDocuments(join(exampleDir, file)))
  .filter((document) => String(document.apiVersion).startsWith('tollgate.dev/'));

function parsed<T>(document: unknown): T {
  const result = parseObject(document);
  if (!result.ok) throw new Error(result.message);
  return result.object as T;
}

function rejection(document: unknown): string {
  const result = parseObject(document);
  if (result.ok) throw new Error('expected the manifest to be rejected, but it parsed');
  return result.message;
}

describe('valid manifests', () => {
  it('covers every Tollgate kind', () => {
    expect(new Set(fixtures.map((document) => document.kind))).toEqual(
      new Set(['Route', 'AIProvider', 'Consumer', 'Policy']),
    );
  });

  it.each(fixtures.map((document) => [nameOf(document), document]))('accepts %s', (_name, document) => {
    const result = parseObject(document);
    expect(result).toMatchObject({ ok: true });
  });

  it.each(examples.map((document) => [nameOf(document), document]))(
    'accepts the repository example %s',
    (_name, document) => {
      expect(parseObject(document)).toMatchObject({ ok: true });
    },
  );
});

describe('defaults', () => {
  const find = (kind: string, name: string) =>
    fixtures.find((document) => nameOf(document) === `${kind}/${name}`) as Record<string, unknown>;

  it('fills Route defaults the way the API server would', () => {
    const route = parsed<Route>(find('Route', 'everything'));
    const redirect = route.spec.rules[2]?.filters?.[0]?.requestRedirect;
    expect(route.spec.rules[0]?.backendRefs?.[0]?.weight).toBe(90);
    expect(route.spec.rules[1]?.backendRefs?.[0]?.weight).toBe(1);
    expect(route.spec.rules[0]?.matches?.[0]?.headers?.[0]?.type).toBe('Exact');
    expect(redirect?.statusCode).toBe(301);
  });

  it('fills AIProvider defaults: pricing currency, health-check timings, azure api version', () => {
    const openai = parsed<AIProvider>(find('AIProvider', 'openai'));
    expect(openai.spec.models?.[0]?.pricing?.currency).toBe('USD');
    expect(openai.spec.models?.[1]?.pricing?.currency).toBe('EUR');
    expect(openai.spec.healthCheck).toEqual({
      enabled: true,
      interval: '1m',
      timeout: '3s',
      unhealthyThreshold: 2,
      healthyThreshold: 1,
    });
    const azure = parsed<AIProvider>(find('AIProvider', 'azure'));
    expect(azure.spec.azure?.apiVersion).toBe('2024-10-21');
    const vertex = parsed<AIProvider>(find('AIProvider', 'vertex'));
    expect(vertex.spec.vertex?.publisher).toBe('google');
  });

  it('fills Consumer defaults: not disabled', () => {
    expect(parsed<Consumer>(find('Consumer', 'minimal')).spec.disabled).toBe(false);
  });

  it('fills Policy defaults: target group, rate-limit key and scope, budget period and zone', () => {
    const policy = parsed<Policy>(find('Policy', 'everything'));
    expect(policy.spec.targetRefs[0]).toEqual({ group: 'tollgate.dev', kind: 'Route', name: 'llm' });
    expect(policy.spec.rateLimits?.[0]).toMatchObject({
      key: 'consumer',
      scope: 'global',
      failureMode: 'open',
    });
    expect(policy.spec.budgets?.[1]).toMatchObject({ timeZone: 'UTC', per: 'consumer', mode: 'shadow' });
    expect(policy.spec.budgets?.[1]?.tokens?.count).toBe('total');
    const budget = parsed<Policy>(find('Policy', 'consumer-budget')).spec.budgets?.[0];
    expect(budget).toMatchObject({
      period: 'month',
      cost: { amount: '100', currency: 'USD' },
      mode: 'enforce',
    });
  });
});

describe('invalid manifests', () => {
  it.each(invalidManifests)('rejects %s, naming the field', (_name, document, expected) => {
    expect(rejection(document)).toContain(expected);
  });

  it('reports every problem of an object, not just the first', () => {
    const message = rejection(
      route({ hostnames: ['-bad-'], rules: [{ backendRefs: [{ name: 'svc', url: 'http://127.0.0.1' }] }] }),
    );
    expect(message).toContain('spec.hostnames[0]:');
    expect(message).toContain('spec.rules[0].backendRefs[0]: set exactly one of name and url');
  });

  it('refuses an unknown kind', () => {
    expect(rejection({ apiVersion: 'tollgate.dev/v1alpha1', kind: 'Gateway', metadata: meta })).toContain(
      'kind: unsupported kind "Gateway"',
    );
  });
});
