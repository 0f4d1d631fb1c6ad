// Bounded labels and the small mappings behind the metrics.
import {
  type AccessRecord,
  admissionDecision,
  connectErrorReason,
  createDataplaneMetrics,
  MAX_MODEL_LABELS,
  RequestObserver,
} from '../../src/observability/index.ts';

function aiRecord(model: string): AccessRecord {
  return {
    method: 'POST',
    host: 'h',
    path: '/v1/chat/completions',
    status: 200,
    route: 'ai/llm/0/0',
    cluster: 'ai/ai/open',
    upstream: undefined,
    bytesIn: 10,
    bytesOut: 20,
    durationMs: 100,
    upstreamMs: 90,
    requestId: 'r',
    errorCode: undefined,
    consumer: 'team/app',
    ai: {
      api: 'openai',
      operation: 'chat',
      stream: true,
      requestModel: model,
      provider: 'ai/open',
      providerType: 'openai-compatible',
      model,
      attempts: 1,
      inputTokens: 5,
      outputTokens: 11,
      cachedInputTokens: 0,
      cacheWriteTokens: 0,
      reasoningTokens: 0,
      estimated: false,
      costMicros: 3,
      currency: 'USD',
      ttftMs: 20,
    },
  };
}

test('a provider passing any model name through adds at most MAX_MODEL_LABELS model series; the rest count as "other"', async () => {
  const metrics = createDataplaneMetrics();
  const observer = new RequestObserver(metrics);
  for (let i = 0; i < MAX_MODEL_LABELS + 300; i++) observer.finished(aiRecord(`model-${i}`));
  const values = (await metrics.consumerTokens.get()).values;
  const models = new Set(values.map((v) => v.labels.gen_ai_request_model));
  expect(models.size).toBe(MAX_MODEL_LABELS + 1);
  expect(models.has('other')).toBe(true);
  const other = values.find(
    (v) => v.labels.gen_ai_request_model === 'other' && v.labels.gen_ai_token_type === 'output',
  );
  expect(other?.value).toBe(300 * 11);
});

test('time per output token is (duration − TTFT) / (output tokens − 1), streams only', async () => {
  const metrics = createDataplaneMetrics();
  new RequestObserver(metrics).finished(aiRecord('m'));
  const { values } = await metrics.ai.timePerOutputToken.get();
  expect(values.find((v) => v.metricName?.endsWith('_sum'))?.value).toBeCloseTo((100 - 20) / 10 / 1000);
});

test.each([
  ['ECONNREFUSED', 'refused'],
  ['UND_ERR_CONNECT_TIMEOUT', 'timeout'],
  ['ENOTFOUND', 'dns'],
  ['EHOSTUNREACH', 'unreachable'],
  ['ERR_TLS_CERT_ALTNAME_INVALID', 'tls'],
  ['DEPTH_ZERO_SELF_SIGNED_CERT', 'tls'],
  ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'other'],
  ['ESOMETHING', 'other'],
])('connect error %s → reason %s', (code, reason) => {
  expect(connectErrorReason(Object.assign(new Error('x'), { code }))).toBe(reason);
});

test('admission outcomes map to rate-limit decisions; routes without limits record none', () => {
  expect(admissionDecision(undefined, true)).toEqual({ kind: 'rate_limit', decision: 'allowed' });
  expect(admissionDecision(undefined, false)).toBeUndefined();
  expect(admissionDecision('TG_ERR_RATE_LIMITED', false)).toEqual({
    kind: 'rate_limit',
    decision: 'limited',
  });
  expect(admissionDecision('TG_ERR_RATE_LIMIT_UNAVAILABLE', false)).toEqual({
    kind: 'rate_limit',
    decision: 'unavailable',
  });
  expect(admissionDecision('TG_ERR_AUTH_INVALID_KEY', false)).toBeUndefined();
});

test('the dropped log lines counter reports what the log destination dropped, at each scrape', async () => {
  let dropped = 0;
  const metrics = createDataplaneMetrics({ droppedLogLines: () => dropped });
  const value = async () =>
    /^tollgate_log_lines_dropped_total (\d+)$/m.exec(await metrics.registry.metrics())?.[1];
  expect(await value()).toBe('0');
  dropped = 3;
  expect(await value()).toBe('3');
  expect(await value()).toBe('3');
  dropped = 10;
  expect(await value()).toBe('10');
});
