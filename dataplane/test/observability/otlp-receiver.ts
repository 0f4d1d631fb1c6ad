// A real OTLP/HTTP trace receiver on loopback: accepts POST /v1/traces in the JSON encoding
// (the exporter runs with OTEL_EXPORTER_OTLP_PROTOCOL=http/json) and keeps every span it decodes;
// startTracingTo points the telemetry package's tracing at it.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTracing, type TracingSetup } from '@tollgate/telemetry';
import { z } from 'zod';

const AnyValue: z.ZodType<unknown> = z.lazy(() =>
  z.object({
    stringValue: z.string().optional(),
    boolValue: z.boolean().optional(),
    intValue: z.union([z.string(), z.number()]).optional(),
    doubleValue: z.number().optional(),
    arrayValue: z.object({ values: z.array(AnyValue).optional() }).optional(),
  }),
);
const KeyValue = z.object({ key: z.string(), value: AnyValue });
const SpanJSON = z.object({
  traceId: z.string(),
  spanId: z.string(),
  parentSpanId: z.string().optional(),
  name: z.string(),
  kind: z.number(),
  startTimeUnixNano: z.union([z.string(), z.number()]),
  endTimeUnixNano: z.union([z.string(), z.number()]),
  attributes: z.array(KeyValue).optional(),
  status: z.object({ code: z.number().optional(), message: z.string().optional() }).optional(),
});
const ExportRequest = z.object({
  resourceSpans: z.array(
    z.object({
      resource: z.object({ attributes: z.array(KeyValue).optional() }).optional(),
      scopeSpans: z.array(z.object({ spans: z.array(SpanJSON).optional() })).optional(),
    }),
  ),
});

/** OTLP span kinds. */
export const KIND = { INTERNAL: 1, SERVER: 2, CLIENT: 3 } as const;

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  name: string;
  kind: number;
  /** Attributes decoded to plain values (ints as numbers, arrays as arrays). */
  attributes: Record<string, unknown>;
  statusCode: number;
  resource: Record<string, unknown>;
}

export interface OTLPReceiver {
  endpoint: string;
  spans: ReceivedSpan[];
  close(): Promise<void>;
}

function decode(value: unknown): unknown {
  const v = value as Record<string, unknown>;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.arrayValue !== undefined) return ((v.arrayValue as { values?: unknown[] }).values ?? []).map(decode);
  return undefined;
}

function attributesOf(list: Array<z.infer<typeof KeyValue>> | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, decode(kv.value)]));
}

export async function startOTLPReceiver(): Promise<OTLPReceiver> {
  const spans: ReceivedSpan[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      const parsed = ExportRequest.safeParse(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      if (!parsed.success) {
        res.writeHead(400, { 'content-type': 'application/json' }).end('{}');
        return;
      }
      for (const rs of parsed.data.resourceSpans) {
        const resource = attributesOf(rs.resource?.attributes);
        for (const ss of rs.scopeSpans ?? []) {
          for (const s of ss.spans ?? []) {
            spans.push({
              traceId: s.traceId,
              spanId: s.spanId,
              parentSpanId: s.parentSpanId || undefined,
              name: s.name,
              kind: s.kind,
              attributes: attributesOf(s.attributes),
              statusCode: s.status?.code ?? 0,
              resource,
            });
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * The telemetry package's tracing exporting to `receiver` in JSON, with a 20 ms batch delay so
 * tests read their spans quickly; `sampler` (and its argument) as OTEL_TRACES_SAMPLER says.
 */
export function startTracingTo(receiver: OTLPReceiver, sampler: string, samplerArg?: string): TracingSetup {
  return startTracing({
    serviceName: 'tollgate-dataplane-test',
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '20',
      OTEL_TRACES_SAMPLER: sampler,
      ...(samplerArg === undefined ? {} : { OTEL_TRACES_SAMPLER_ARG: samplerArg }),
    },
  });
}
