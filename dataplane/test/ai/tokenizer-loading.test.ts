// The tokenizer behind token estimates weighs tens of MiB: a data plane loads it only once a
// snapshot configures AI providers, and AI requests that arrive while it loads wait for it.
import { waitFor } from '@tollgate/testkit';
import { translate } from '../../../controller/src/translate/index.ts';
import { tokenizerLoaded } from '../../src/ai/metering/estimate.ts';
import { cluster, entry, snapshotOf, startDataplane } from '../helpers.ts';
import { providerObjects, routeObject } from './helpers.ts';

test('a data plane without AI providers never loads the tokenizer; the first snapshot with one does', async () => {
  const running = await startDataplane();
  try {
    running.dataplane.applySnapshot(
      snapshotOf({ '*': [entry('app', { backends: [['plain', 1]] })] }, [cluster('plain', [9])]),
    );
    expect(tokenizerLoaded()).toBe(false);

    const { snapshot } = translate([
      ...providerObjects({
        name: 'llm',
        spec: { type: 'openai-compatible', baseURL: 'http://127.0.0.1:9/v1', models: [{ name: 'm' }] },
      }),
      routeObject('chat', [
        {
          matches: [{ path: { type: 'PathPrefix', value: '/v1' } }],
          backendRefs: [{ kind: 'AIProvider', name: 'llm' }],
        },
      ]),
    ]);
    expect(snapshot.aiProviders).toHaveLength(1);
    running.dataplane.applySnapshot(snapshot);
    await waitFor(() => tokenizerLoaded(), { what: 'the tokenizer to load', timeoutMs: 20_000 });
  } finally {
    await running.close();
  }
});
