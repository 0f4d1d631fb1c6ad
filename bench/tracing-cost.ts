// The data plane's tracing work per request, measured alone (no sockets, no proxying): one SERVER
// span, one CLIENT attempt span with traceparent injected, both ended with their attributes and
// exported over OTLP/HTTP protobuf to a receiver in another process. CPU time (all threads: GC
// included) per request for each sampling ratio, steady where whole-proxy throughput on a shared
// machine is not. About 15 s:
//   scripts/toolchain.sh node bench/tracing-cost.ts [--requests 100000]
// (`--child <ratio> <port>` is the measuring side, one process per ratio.)
import { type ChildProcess, spawn } from 'node:child_process';
import type { IncomingMessage } from 'node:http';
import { parseArgs } from 'node:util';
import {
  DataplaneTracer,
  endServerSpan,
  startUpstreamAttemptSpan,
} from '../dataplane/src/observability/tracing.ts';
import { startTracing } from '../packages/telemetry/src/index.ts';

const RATIOS = ['1', '0.1', '0'] as const;

const { values, positionals } = parseArgs({
  options: { child: { type: 'boolean' }, requests: { type: 'string', default: '100000' } },
  allowPositionals: true,
});

async function child(ratio: string, port: number, requests: number): Promise<void> {
  const tracing = startTracing({
    serviceName: 'bench',
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: ratio,
      // Nothing dropped: every sampled span is serialised and sent, as the cost to price.
      OTEL_BSP_MAX_QUEUE_SIZE: String(requests * 2 + 1024),
      OTEL_BSP_SCHEDULE_DELAY: '50',
    },
  });
  const tracer = new DataplaneTracer(tracing.tracer!);
  const req = {
    headers: { host: 'shop.example.com', 'user-agent': 'bench/1.0', accept: '*/*' },
    socket: { remoteAddress: '::ffff:10.1.2.3' },
  } as unknown as IncomingMessage;
  const one = (): void => {
    const trace = tracer.startRequest(req, {
      method: 'GET',
      path: '/api/items/42',
      host: 'shop.example.com',
      scheme: 'http',
    });
    const attempt = startUpstreamAttemptSpan(trace, {
      method: 'GET',
      cluster: 'url/http://10.0.0.7:8080',
      address: '10.0.0.7:8080',
      target: '/api/items/42?view=full',
    })!;
    const headers: Record<string, string> = { 'x-request-id': 'abc' };
    attempt.inject(headers);
    attempt.end({ status: 200 });
    endServerSpan(trace, {
      status: 200,
      route: 'bench/api/0/0',
      cluster: 'url/http://10.0.0.7:8080',
      consumer: undefined,
      errorCode: undefined,
      bytesIn: 0,
      bytesOut: 27,
    });
  };
  // Yield now and then so exports go out as they would between requests.
  const run = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++) {
      one();
      // Paced (sleeping costs no CPU) so the exporter keeps up and every batch is sent in turn.
      if (i % 256 === 255) await new Promise((resolve) => setTimeout(resolve, 2));
    }
  };
  await run(20_000);
  // Let the warm-up's spans go out before measuring.
  await new Promise((resolve) => setTimeout(resolve, 500));
  const before = process.cpuUsage();
  await run(requests);
  // Exports run one batch at a time; give the queue time to drain (idle time costs no CPU).
  await new Promise((resolve) => setTimeout(resolve, 2000));
  let complete = true;
  try {
    await tracing.shutdown(); // the last batches' serialisation and export count too
  } catch {
    complete = false; // the exporter refused a batch (too many in flight): the figure is low
  }
  const used = process.cpuUsage(before);
  process.stdout.write(
    `${JSON.stringify({ ratio, usPerRequest: (used.user + used.system) / requests, complete })}\n`,
  );
}

function runChild(args: string[]): Promise<{ ratio: string; usPerRequest: number; complete: boolean }> {
  return new Promise((resolve, reject) => {
    const c: ChildProcess = spawn(process.execPath, [import.meta.filename, ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    c.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    c.once('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`child exited ${code}`)),
    );
  });
}

async function main(): Promise<void> {
  // The receiver takes every export and discards it, in its own process (its CPU is not counted).
  const receiverScript = `require('node:http').createServer((q, s) => { q.resume(); q.on('end', () => s.writeHead(200, { 'content-type': 'application/x-protobuf' }).end()); }).listen(0, '127.0.0.1', function () { process.stdout.write('ready ' + this.address().port + '\\n'); });`;
  const receiver = spawn(process.execPath, ['-e', receiverScript], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await new Promise<number>((resolve) =>
      receiver.stdout!.on('data', (c: Buffer) => {
        const m = /ready (\d+)/.exec(c.toString());
        if (m) resolve(Number(m[1]));
      }),
    );
    const lines = ['| Sampling | CPU µs per request (SERVER + CLIENT span, exported) |', '| --- | ---: |'];
    for (const ratio of RATIOS) {
      const result = await runChild(['--child', ratio, String(port), '--requests', values.requests!]);
      const note = result.complete ? '' : ' (some batches not exported: rerun)';
      lines.push(`| ${Number(ratio) * 100}% | ${result.usPerRequest.toFixed(1)}${note} |`);
    }
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    receiver.kill('SIGKILL');
  }
}

if (values.child) await child(positionals[0]!, Number(positionals[1]), Number(values.requests));
else await main();
