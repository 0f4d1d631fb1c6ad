// Guardrails through the real standalone stack, with the Policies of docs/policies.md's Guardrails
// section exactly as written: prompts are masked before they reach the (mock) provider, requests
// over 32k input tokens and models outside the team's list are refused, and the data plane's log
// output (pino, from the real process) never carries what the prompts contained.
import { type MockProvider, startOpenAIMock, waitFor } from '@tollgate/testkit';
import OpenAI from 'openai';
import { translateDocs } from '../src/docs-translate.ts';
import { type StandaloneStack, startStandaloneStack } from '../src/index.ts';
import { docsPageObjects, docsYaml } from '../src/journeys/docs.ts';
import {
  aiRouteManifests,
  apiKeysPolicy,
  consumerManifest,
  keySecret,
  yamlStream,
} from '../src/policy-stack.ts';

const SLOW = 60_000;
const EMAIL = 'jane.doe@example.com';
const CARD = '4111 1111 1111 1111';
const SECRET = 'sk-proj-AbCdEf1234567890GhIjKlMnOpQr';

/** What the docs' Policies attach to, pointed at the mock provider. */
function environment(provider: MockProvider): string {
  return yamlStream(
    aiRouteManifests(provider, { provider: 'openai', models: ['gpt-4o-mini', 'gpt-4o'] }),
    keySecret('shop-key', 'sk-shop-app-key'),
    consumerManifest('shop-app', 'shop-key', 'shop'),
    apiKeysPolicy(),
  );
}

test("docs/policies.md's Guardrails manifests compile to the documented guardrails", async () => {
  const { snapshot, statuses } = translateDocs(docsPageObjects('policies.md'));
  const names = ['prompt-guardrails', 'research-models'];
  const policies = statuses.filter((s) => s.ref.kind === 'Policy' && names.includes(s.ref.name));
  expect(policies).toHaveLength(2);
  for (const status of policies) expect(status.conditions.every((c) => c.status === 'True')).toBe(true);
  const llm = snapshot.virtualHosts.flatMap((h) => h.routes).find((e) => e.route.name === 'llm')?.policy;
  expect(llm?.guardrails).toMatchObject({
    from: 'policy/default/prompt-guardrails',
    pii: [
      { type: 'creditCard', action: 'mask' },
      { type: 'email', action: 'mask' },
      { type: 'secret', action: 'block' },
    ],
    maxInputTokens: 32000,
    allowedModels: ['gpt-4o-mini'],
  });
  expect(llm?.byConsumer?.['consumer/default/research-team']?.guardrails?.from).toBe(
    'policy/default/research-models',
  );
});

describe('guardrails in the standalone stack', () => {
  let provider: MockProvider;
  let stack: StandaloneStack;
  const client = (apiKey: string) => new OpenAI({ baseURL: `${stack.gatewayUrl}/v1`, apiKey, maxRetries: 0 });
  const ask = (apiKey: string, model: string, content: string) =>
    client(apiKey).chat.completions.create({ model, messages: [{ role: 'user', content }] });

  beforeAll(async () => {
    provider = await startOpenAIMock();
    stack = await startStandaloneStack({
      'environment.yaml': environment(provider),
      'guardrails.yaml': docsYaml('policies.md', 'Guardrails').join('---\n'),
    });
  }, SLOW);

  afterAll(async () => {
    await stack?.stop();
    await provider?.close();
  }, SLOW);

  test(
    'masks emails and card numbers before the prompt reaches the provider',
    async () => {
      const reply = await ask('sk-shop-app-key', 'gpt-4o-mini', `Refund ${CARD} and tell ${EMAIL}.`);
      expect(reply.choices[0]?.message.content).toContain('Refund <CREDIT_CARD> and tell <EMAIL>.');
      const sent = provider.requests.at(-1)!.body as { messages: Array<{ content: string }> };
      expect(sent.messages[0]!.content).toBe('Refund <CREDIT_CARD> and tell <EMAIL>.');
    },
    SLOW,
  );

  test(
    'refuses an API key in the prompt without sending anything to the provider',
    async () => {
      const before = provider.requests.length;
      const error = await ask('sk-shop-app-key', 'gpt-4o-mini', `debug with ${SECRET}`).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      expect((error as Error).message).toContain('rule pii.secret');
      expect((error as Error).message).not.toContain(SECRET);
      expect(provider.requests).toHaveLength(before);
    },
    SLOW,
  );

  test(
    'rejects a prompt over 32k input tokens',
    async () => {
      const long = Array.from({ length: 33_000 }, (_, i) => `w${i}`).join(' ');
      const error = await ask('sk-shop-app-key', 'gpt-4o-mini', long).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      expect((error as InstanceType<typeof OpenAI.BadRequestError>).code).toBe(
        'TG_ERR_GUARDRAIL_INPUT_TOO_LARGE',
      );
    },
    SLOW,
  );

  test(
    'allows only approved models per team',
    async () => {
      const refused = await ask('sk-shop-app-key', 'gpt-4o', 'hello').catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(OpenAI.PermissionDeniedError);
      expect((refused as InstanceType<typeof OpenAI.PermissionDeniedError>).code).toBe(
        'TG_ERR_GUARDRAIL_MODEL_NOT_ALLOWED',
      );
      const research = await ask('sk-research-team-key', 'gpt-4o', 'hello');
      expect(research.choices).toHaveLength(1);
    },
    SLOW,
  );

  test(
    "keeps what prompts contained out of the data plane's and controller's log output",
    async () => {
      // Access lines are written as responses close: wait for the last test's refusal to show up.
      await waitFor(() => stack.dataplane.output().includes('TG_ERR_GUARDRAIL_MODEL_NOT_ALLOWED'));
      const output = stack.dataplane.output() + stack.controller.output();
      expect(output).toContain('TG_ERR_GUARDRAIL_SENSITIVE_DATA');
      expect(output).toContain('TG_ERR_GUARDRAIL_INPUT_TOO_LARGE');
      for (const value of [EMAIL, CARD, CARD.replaceAll(' ', ''), SECRET])
        expect(output).not.toContain(value);
    },
    SLOW,
  );
});
