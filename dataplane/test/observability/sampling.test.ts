// Sampled-out requests: the gateway still passes the trace on (the upstream sees a traceparent
// with the not-sampled flag, the access log has the trace id) but records and exports nothing.
import type { TracingSetup } from '@tollgate/telemetry';
import { type MockProvider, startOpenAIMock, startUpstream, type TestUpstream } from '@tollgate/testkit';
import OpenAI from 'openai';
import { type Gateway, mockProviderObjects, routeObject, startGateway } from '../ai/helpers.ts';
import { cluster, entry, type RunningDataplane, snapshotOf, startDataplane } from '../helpers.ts';
import { type OTLPReceiver, startOTLPReceiver, startTracingTo } from './otlp-receiver.ts';

let receiver: OTLPReceiver;
let tracing: TracingSetup;
let upstream: TestUpstream;
let provider: MockProvider;
let plain: RunningDataplane;
let ai: Gateway;

beforeAll(async () => {
  receiver = await startOTLPReceiver();
  tracing = startTracingTo(receiver, 'parentbased_traceidratio', '0');
  upstream = await startUpstream('echo');
  provider = await startOpenAIMock();
  plain = await startDataplane({ tracer: tracing.tracer! });
  plain.dataplane.applySnapshot(
    snapshotOf({ '*': [entry('web/shop/0/0', { backends: [['c1', 1]] })] }, [cluster('c1', [upstream.port])]),
  );
  ai = await startGateway(
    [
      ...mockProviderObjects('openai', 'openai', provider),
      routeObject('llm', [{ backendRefs: [{ kind: 'AIProvider', name: 'openai', model: 'gpt-4o' }] }]),
      {
        apiVersion: 'tollgate.dev/v1alpha1',
        kind: 'Policy',
        metadata: { name: 'record', namespace: 'ai' },
        spec: { targetRefs: [{ kind: 'Route', name: 'llm' }], observability: { recordContent: true } },
      },
    ],
    { tracer: tracing.tracer! },
  );
});

afterAll(async () => {
  await ai?.close();
  await plain?.close();
  await provider?.close();
  await upstream?.close();
  await tracing?.shutdown();
  await receiver?.close();
});

test('a sampled-out request still carries its trace to the upstream and the access log, and exports no span', async () => {
  const response = await fetch(`${plain.url}/items`);
  expect(response.status).toBe(200);
  await response.text();
  const traceparent = String(upstream.requests.at(-1)!.headers.traceparent);
  expect(traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
  expect(plain.accessLogs().at(-1)!.traceId).toBe(traceparent.split('-')[1]);

  const completion = await new OpenAI({
    baseURL: `${ai.url}/v1`,
    apiKey: 'client-key',
    maxRetries: 0,
  }).chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
  expect(completion.choices[0]!.message.content).toBeTruthy();
  expect(String(provider.requests.at(-1)!.headers.traceparent)).toMatch(/-00$/);

  // Everything buffered is exported on shutdown: nothing was.
  await tracing.shutdown();
  expect(receiver.spans).toEqual([]);
});
