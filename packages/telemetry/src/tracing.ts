// OpenTelemetry tracing for both components, configured the standard way (OTEL_* environment
// variables, which the Helm chart sets from its values). With no exporter configured nothing is
// registered: the API stays a no-op and callers skip span work entirely (see `TracingSetup.enabled`).
import { createRequire } from 'node:module';
import { type Tracer, trace } from '@opentelemetry/api';
import type { NodeSDK } from '@opentelemetry/sdk-node';

export type { Context, Span, Tracer } from '@opentelemetry/api';

export interface TracingOptions {
  /** Default service name; OTEL_SERVICE_NAME wins. */
  serviceName: string;
  /** The environment read (default process.env), so tests need not touch the process's. */
  env?: Record<string, string | undefined>;
}

export interface TracingSetup {
  /** True when spans are recorded and exported; false ⇒ `tracer` is a no-op and callers skip span work. */
  readonly enabled: boolean;
  /** Why tracing is on or off, for the startup log line. */
  readonly reason: string;
  readonly tracer: Tracer | undefined;
  /** Exports what is buffered and stops; call on shutdown. */
  shutdown(): Promise<void>;
}

const OFF = (reason: string): TracingSetup => ({
  enabled: false,
  reason,
  tracer: undefined,
  shutdown: async () => {},
});

/**
 * Whether the environment asks for traces: an exporter named in OTEL_TRACES_EXPORTER (other than
 * `none`) or an OTLP endpoint; OTEL_SDK_DISABLED=true turns everything off. Unlike the SDK's own
 * default (export to localhost:4318 when nothing is set), a gateway without a configured
 * destination records nothing: tracing costs nothing until someone asks for it.
 */
export function tracingRequested(env: Record<string, string | undefined>): { on: boolean; reason: string } {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true')
    return { on: false, reason: 'OTEL_SDK_DISABLED' };
  const exporters = (env.OTEL_TRACES_EXPORTER ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '');
  if (exporters.includes('none')) return { on: false, reason: 'OTEL_TRACES_EXPORTER=none' };
  if (exporters.length > 0) return { on: true, reason: `OTEL_TRACES_EXPORTER=${exporters.join(',')}` };
  if (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT)
    return { on: true, reason: 'OTLP endpoint configured' };
  return { on: false, reason: 'no exporter configured (set OTEL_EXPORTER_OTLP_ENDPOINT)' };
}

/**
 * Starts the OpenTelemetry SDK for traces only (metrics stay on prom-client, logs on pino): W3C
 * trace context and baggage propagators, the sampler from OTEL_TRACES_SAMPLER/_ARG (default
 * parentbased_always_on), a batch processor and the exporter from OTEL_TRACES_EXPORTER /
 * OTEL_EXPORTER_OTLP_* (protocol http/protobuf by default).
 */
export function startTracing(options: TracingOptions): TracingSetup {
  const env = options.env ?? process.env;
  const requested = tracingRequested(env);
  if (!requested.on) return OFF(requested.reason);
  // The SDK reads process.env itself; an explicit environment is applied for the time of setup.
  const restore = options.env ? overlayEnv(options.env) : () => {};
  let sdk: NodeSDK;
  try {
    // Loaded only when tracing is on: the SDK alone adds ~45 MiB of memory and ~0.4 s of start-up.
    const { NodeSDK: SDK } = createRequire(import.meta.url)(
      '@opentelemetry/sdk-node',
    ) as typeof import('@opentelemetry/sdk-node');
    sdk = new SDK({
      serviceName: env.OTEL_SERVICE_NAME ?? options.serviceName,
      instrumentations: [],
      metricReaders: [],
      logRecordProcessors: [],
    });
    sdk.start();
  } finally {
    restore();
  }
  const tracer = trace.getTracer('tollgate');
  return {
    enabled: true,
    reason: requested.reason,
    tracer,
    shutdown: () => sdk.shutdown(),
  };
}

function overlayEnv(env: Record<string, string | undefined>): () => void {
  const saved = new Map<string, string | undefined>();
  for (const [key, value] of Object.entries(env)) {
    if (!key.startsWith('OTEL_')) continue;
    saved.set(key, process.env[key]);
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  return () => {
    for (const [key, value] of saved) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  };
}
