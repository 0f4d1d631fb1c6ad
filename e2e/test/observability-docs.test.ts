// docs/observability.md's Policy manifest works as-is: the real translator accepts it next to the
// objects it names, and the route entry carries the opt-in and the guardrails that mask content.
import { translateDocs } from '../src/docs-translate.ts';
import { docsYaml, yamlObjects } from '../src/journeys/docs.ts';
import { aiRouteManifests } from '../src/policy-stack.ts';

const environment = aiRouteManifests({ apiKey: 'sk-provider-key' }, { provider: 'openai', models: [] });

test('the content opt-in Policy of docs/observability.md is accepted and turns recording on, with masking, for its route', async () => {
  const manifests = docsYaml('observability.md', 'Prompts and completions on spans');
  expect(manifests).toHaveLength(1);
  const { snapshot, problems } = translateDocs(yamlObjects([environment, ...manifests]));
  expect(problems).toEqual([]);
  const llm = snapshot.virtualHosts.flatMap((h) => h.routes).find((e) => e.route.name === 'llm')?.policy;
  expect(llm?.observability).toEqual({ from: 'policy/default/trace-llm-content', recordContent: true });
  expect(llm?.guardrails?.pii?.find((rule) => rule.type === 'email')?.action).toBe('mask');
});
