// When tracing turns on: only when the environment names a destination, never by default.
import { trace } from '@opentelemetry/api';
import { startTracing, tracingRequested } from '../src/index.ts';

describe('tracingRequested', () => {
  test.each([
    [{}, false],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, true],
    [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' }, true],
    [{ OTEL_TRACES_EXPORTER: 'otlp' }, true],
    [{ OTEL_TRACES_EXPORTER: 'console' }, true],
    [{ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, false],
    [{ OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, false],
  ])('%j → %s', (env, on) => {
    expect(tracingRequested(env).on).toBe(on);
  });
});

test('with no exporter configured nothing is registered: no tracer, and the global API stays a no-op', async () => {
  const setup = startTracing({ serviceName: 'test', env: {} });
  expect(setup.enabled).toBe(false);
  expect(setup.tracer).toBeUndefined();
  const span = trace.getTracer('x').startSpan('s');
  expect(span.isRecording()).toBe(false);
  span.end();
  await setup.shutdown();
});
