// docs/traffic.md "Regular expressions": its Route is accepted as-is, and the refusal it shows for
// a pattern over the complexity cap is the one the translator writes.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { translate } from '../../src/translate/index.ts';

interface RouteObject {
  kind: string;
  metadata: { name: string };
  spec: { rules: Array<{ matches: Array<{ path: { value: string } }> }> };
}

async function section(): Promise<string> {
  const markdown = await readFile(path.resolve(import.meta.dirname, '../../../docs/traffic.md'), 'utf8');
  const part = markdown.split(/^## /m).find((p) => p.startsWith('Regular expressions\n'));
  if (!part) throw new Error('docs/traffic.md has no "Regular expressions" section');
  return part;
}

async function documentedRoute(): Promise<RouteObject> {
  const yaml = /```yaml\n([\s\S]*?)```/.exec(await section())![1]!;
  return parseAllDocuments(yaml)[0]!.toJS() as RouteObject;
}

function accepted(objects: unknown[]) {
  const status = translate(objects).statuses.find((s) => s.ref.kind === 'Route');
  return status?.conditions.find((c) => c.type === 'Accepted');
}

test('the documented Route with regex matches is accepted', async () => {
  const route = await documentedRoute();
  expect(accepted([route])).toMatchObject({ status: 'True', reason: 'Accepted' });
});

test('the documented refusal of a pattern over the complexity cap is what the translator says', async () => {
  const route = await documentedRoute();
  route.spec.rules[0]!.matches[0]!.path.value = '/(.*a){20}';
  const shown = /```\n\$ kubectl get route users-api[^\n]*\n([^\n]+)\n```/.exec(await section())![1];
  expect(accepted([route])).toMatchObject({ status: 'False', reason: 'InvalidRegex', message: shown });
});
