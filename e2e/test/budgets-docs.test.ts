// docs/policies.md's JWT and budget manifests compile to what the page says: which Policy's
// authentication and budgets each entry gets, and what a Consumer-attached budget replaces.
import { translateDocs } from '../src/docs-translate.ts';
import { docsPageObjects } from '../src/journeys/docs.ts';

async function documented() {
  return translateDocs(docsPageObjects('policies.md'));
}

test('the JWT examples compile: discovery on the route, API key or inline keys on its batch rule', async () => {
  const { snapshot } = await documented();
  const entries = snapshot.virtualHosts.flatMap((h) => h.routes).filter((e) => e.route.name === 'reports');
  const batch = entries.find((e) => e.route.ruleName === 'batch')?.policy?.authentication;
  const main = entries.find((e) => e.route.ruleName === undefined)?.policy?.authentication;
  expect(main?.from).toBe('policy/default/oidc');
  expect(main?.apiKey).toBeUndefined();
  expect(main?.jwt).toMatchObject({
    keys: { kind: 'discovery' },
    audiences: ['reports-api'],
    algorithms: ['RS256', 'ES256'],
    consumerClaim: 'sub',
    forwardClaims: [
      { claim: 'email', header: 'x-user-email' },
      { claim: 'realm_access.roles', header: 'x-user-roles' },
    ],
  });
  expect(batch?.from).toBe('policy/default/batch-jobs');
  expect(batch?.apiKey?.required).toBe(true);
  expect(batch?.jwt?.keys).toMatchObject({ kind: 'inline', jwks: { keys: [{ kid: 'batch-1' }] } });
});

test("the budget examples compile: the Namespace's budgets, replaced by shop-app's own for its requests", async () => {
  const { snapshot } = await documented();
  const llm = snapshot.virtualHosts.flatMap((h) => h.routes).find((e) => e.route.name === 'llm')?.policy;
  expect(llm?.budgets?.from).toBe('policy/default/llm-budgets');
  expect(llm?.budgets?.budgets.map((b) => [b.name, b.unit, b.limit, b.per, b.mode, b.failureMode])).toEqual([
    ['team-monthly-spend', 'cost', 500_000_000, 'team', 'enforce', 'closed'],
    ['daily-tokens', 'tokens', 2_000_000, 'consumer', 'shadow', 'open'],
  ]);
  expect(llm?.byConsumer?.['consumer/default/shop-app']?.budgets?.from).toBe(
    'policy/default/shop-app-budget',
  );
});
