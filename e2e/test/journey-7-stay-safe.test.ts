// Journey 7, "Stay safe", followed with nothing but docs/policies.md: the Consumers, the API-key
// Policy, the Guardrails manifests and the objects they attach to, applied with kubectl to a real
// API server. Emails and card numbers are masked before the prompt leaves (the mock provider sees
// the placeholders), requests over 32k input tokens are refused, and each team may use only its
// approved models. The clients are the official OpenAI SDK; the provider is a mock (its key and
// base URL are the only changes made to the manifests).
import { type MockProvider, startOpenAIMock } from '@tollgate/testkit';
import OpenAI from 'openai';
import { type JourneyCluster, startJourneyCluster } from '../src/journeys/cluster.ts';
import { docsObjects, find, toYaml } from '../src/journeys/docs.ts';

const SLOW = 20 * 60_000; // the first run on a new machine builds the binaries
const TEST = 60_000;

let journey: JourneyCluster;
let openaiMock: MockProvider;
let shopKey: string;
let researchKey: string;

const posts = () => openaiMock.requests.filter((r) => r.method === 'POST');
const client = (apiKey: string) =>
  new OpenAI({ baseURL: `${journey.stack.gatewayUrl}/v1`, apiKey, maxRetries: 0 });
const chat = (apiKey: string, model: string, content: string) =>
  client(apiKey).chat.completions.create({ model, messages: [{ role: 'user', content }] });

beforeAll(async () => {
  openaiMock = await startOpenAIMock({ apiKey: 'sk-journey-openai' });
  journey = await startJourneyCluster(['default']);
  const objects = [
    ...docsObjects('policies.md', 'Consumers and API keys'),
    ...docsObjects('policies.md', 'Authentication'),
    ...docsObjects('policies.md', 'Guardrails'),
    ...docsObjects('policies.md', 'The objects the examples attach to'),
  ];
  find(objects, 'Secret', 'openai-key').stringData = { 'api-key': openaiMock.apiKey };
  find(objects, 'AIProvider', 'openai').spec!.baseURL = openaiMock.baseURL;
  shopKey = find(objects, 'Secret', 'shop-app-key').stringData!.key!;
  researchKey = find(objects, 'Secret', 'research-key').stringData!.key!;
  await journey.apply(toYaml(objects));
  for (const policy of ['api-keys', 'prompt-guardrails', 'research-models'])
    await journey.waitForPolicyAccepted('default', policy);
  await journey.waitForCondition('route', 'default', 'llm', 'Programmed', (c) => c.status === 'True');
}, SLOW);

afterAll(async () => {
  await journey?.stop();
  await openaiMock?.close();
}, TEST);

test(
  'emails and card numbers are masked before the prompt leaves: the provider sees only placeholders',
  async () => {
    const completion = await chat(
      shopKey,
      'gpt-4o-mini',
      'Refund jane.doe@example.com, card 4111 1111 1111 1111, order 12345',
    );
    const sent = posts().at(-1)!;
    const messages = sent.body!.messages as Array<{ content: string }>;
    expect(messages[0]!.content).toBe('Refund <EMAIL>, card <CREDIT_CARD>, order 12345');
    expect(JSON.stringify(sent.body)).not.toContain('jane.doe');
    expect(JSON.stringify(sent.body)).not.toContain('4111');
    expect(completion.choices[0]!.message.content).toBe(
      'Echo: Refund <EMAIL>, card <CREDIT_CARD>, order 12345 ☕ café',
    );
  },
  TEST,
);

test(
  'a request over 32k input tokens is refused before any provider sees it',
  async () => {
    const before = posts().length;
    // About 40,000 tokens of ordinary words.
    const huge = 'the quick brown fox jumps over the lazy dog '.repeat(4_000);
    const refused = await chat(shopKey, 'gpt-4o-mini', huge).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
    const error = refused as InstanceType<typeof OpenAI.BadRequestError>;
    expect(error.code).toBe('TG_ERR_GUARDRAIL_INPUT_TOO_LARGE');
    expect(error.message).toContain('32000');
    expect(posts().length).toBe(before);
    // Under the limit is fine.
    const fine = await chat(shopKey, 'gpt-4o-mini', 'the quick brown fox '.repeat(1_000));
    expect(fine.choices).toHaveLength(1);
  },
  TEST,
);

test(
  'each team may use only its approved models',
  async () => {
    const before = posts().length;
    const shopBig = await chat(shopKey, 'gpt-4o', 'Hello').catch((e: unknown) => e);
    expect(shopBig).toBeInstanceOf(OpenAI.PermissionDeniedError);
    const error = shopBig as InstanceType<typeof OpenAI.PermissionDeniedError>;
    expect(error.code).toBe('TG_ERR_GUARDRAIL_MODEL_NOT_ALLOWED');
    expect(error.message).toContain('gpt-4o');
    expect(posts().length).toBe(before);

    // The research team's own Policy approves the larger models, and still masks.
    const research = await chat(researchKey, 'gpt-4o', 'Mail jane.doe@example.com');
    expect(research.choices).toHaveLength(1);
    expect(posts().at(-1)!.body!.model).toBe('gpt-4o');
    expect((posts().at(-1)!.body!.messages as Array<{ content: string }>)[0]!.content).toBe('Mail <EMAIL>');
    const researchOther = await chat(researchKey, 'claude-opus', 'Hello').catch((e: unknown) => e);
    expect(researchOther).toBeInstanceOf(OpenAI.PermissionDeniedError);

    // And nobody gets in without a key.
    expect(await chat('sk-unknown', 'gpt-4o-mini', 'Hello').catch((e: unknown) => e)).toBeInstanceOf(
      OpenAI.AuthenticationError,
    );
  },
  TEST,
);
