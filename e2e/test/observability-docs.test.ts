// docs/observability.md's Policy manifest works as-is: the real translator accepts it next to the
// objects it names, and the route entry carries the opt-in and the guardrails that mask content.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { translate } from '../../controller/src/translate/index.ts';

const environment = `apiVersion: v1
kind: Secret
metadata: { name: openai-key, namespace: default }
stringData: { api-key: sk-provider-key }
---
apiVersion: tollgate.dev/v1alpha1
kind: AIProvider
metadata: { name: openai, namespace: default }
spec:
  type: openai
  auth: { secretRef: { name: openai-key, key: api-key } }
---
apiVersion: tollgate.dev/v1alpha1
kind: Route
metadata: { name: llm, namespace: default }
spec:
  rules:
    - backendRefs: [{ kind: AIProvider, name: openai }]
`;

async function sectionManifests(heading: string): Promise<string[]> {
  const markdown = await readFile(path.resolve(import.meta.dirname, '../../docs/observability.md'), 'utf8');
  const start = markdown.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`docs/observability.md has no "## ${heading}" section`);
  const end = markdown.indexOf('\n## ', start + 1);
  const section = markdown.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

test('the content opt-in Policy of docs/observability.md is accepted and turns recording on, with masking, for its route', async () => {
  const manifests = await sectionManifests('Prompts and completions on spans');
  expect(manifests).toHaveLength(1);
  const objects = [environment, ...manifests].flatMap((text) =>
    parseAllDocuments(text).map((doc) => doc.toJS() as unknown),
  );
  const { snapshot, statuses } = translate(objects);
  const problems = statuses.flatMap((s) =>
    s.conditions.filter((c) => c.status !== 'True').map((c) => `${s.ref.kind} ${s.ref.name}: ${c.message}`),
  );
  expect(problems).toEqual([]);
  const llm = snapshot.virtualHosts.flatMap((h) => h.routes).find((e) => e.route.name === 'llm')?.policy;
  expect(llm?.observability).toEqual({ from: 'policy/default/trace-llm-content', recordContent: true });
  expect(llm?.guardrails?.pii?.find((rule) => rule.type === 'email')?.action).toBe('mask');
});
