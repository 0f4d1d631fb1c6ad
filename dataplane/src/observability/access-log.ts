// The access log: one line per request, written once when the response is over.
import { type Logger, type RawLineWriter, rawLineWriter } from '@tollgate/telemetry';

export interface AccessRecord {
  method: string;
  host: string;
  path: string;
  status: number;
  route: string | undefined;
  cluster: string | undefined;
  upstream: string | undefined;
  bytesIn: number;
  bytesOut: number;
  durationMs: number;
  upstreamMs: number | undefined;
  requestId: string;
  errorCode: string | undefined;
  /** The trace this request belongs to (its SERVER span's, or the client's traceparent when not traced). */
  traceId?: string;
  /** Upstream attempts on plain routes (retries included); AI routes count theirs in `ai.attempts`. */
  attempts?: number;
  /** The authenticated consumer (namespace/name) and its team, when a Policy authenticates. */
  consumer?: string;
  team?: string;
  /** AI routes only. */
  ai?: AIAccessRecord;
  /** The guardrail that acted (blocked, else masked, else logged); rule kinds only, never the text. */
  guardrail?: GuardrailAccessRecord;
}

/** A guardrail decision on the access-log line: `rule` as in tollgate_guardrail_decisions_total. */
export interface GuardrailAccessRecord {
  stage: 'request' | 'response';
  rule: string;
  action: 'mask' | 'block' | 'log';
}

/** What an AI request adds to its access-log line. Token figures follow the meaning of ai/metering/usage.ts. */
export interface AIAccessRecord {
  /** The API the client spoke: openai | anthropic. */
  api: string;
  operation: string;
  stream: boolean;
  /** The model the client asked for. */
  requestModel: string;
  /** The provider that served (ns/name) and its type; absent when none did. */
  provider?: string;
  providerType?: string;
  /** The provider model sent upstream. */
  model?: string;
  /** Upstream attempts, fallbacks included. */
  attempts: number;
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  cacheWriteTokens: number;
  reasoningTokens: number;
  estimated: boolean;
  costMicros?: number;
  currency?: string;
  /** Time to first token (first byte of a stream reaching the client), streams only. */
  ttftMs?: number;
  /** Why no provider served: the last provider's error, credentials redacted. */
  error?: string;
}

/** Which lines are written: a sample of successes, every failure, none for opted-out routes. */
export interface AccessLogSettings {
  /** Share of successful (status < 400) requests logged, 0..1. Failures are always logged. Default 1. */
  sampleRatio?: number;
  /**
   * Routes whose requests are never logged, as `namespace/name` (every rule of the Route) or a
   * full route entry id `namespace/name/rule/match`.
   */
  excludeRoutes?: readonly string[];
  /** Random source in [0, 1); tests pin it. */
  random?: () => number;
}

export class AccessLog {
  readonly #writer: RawLineWriter;
  readonly #ratio: number;
  readonly #excluded: ReadonlySet<string>;
  readonly #random: () => number;

  constructor(logger: Logger, settings: AccessLogSettings = {}) {
    // The record's fields are fixed and hold no secret (no headers, no query string): redaction,
    // a walk over every line's object, would only cost time on the hottest log there is.
    // The line is formatted here (formatAccessLine), not by pino's generic object serialisation:
    // the same JSON, at a fraction of the cost, on the hottest log there is.
    this.#writer = rawLineWriter(logger.child({ log: 'access' }, { redact: { paths: [] } }), 'info');
    const ratio = settings.sampleRatio ?? 1;
    if (!(ratio >= 0 && ratio <= 1))
      throw new RangeError(`access-log sample ratio must be in [0, 1], got ${ratio}`);
    this.#ratio = ratio;
    this.#excluded = new Set(settings.excludeRoutes ?? []);
    this.#random = settings.random ?? Math.random;
  }

  write(record: AccessRecord): void {
    if (!this.#wanted(record) || !this.#writer.enabled()) return;
    this.#writer.write(formatAccessLine(this.#writer.head(), record));
  }

  #wanted(record: AccessRecord): boolean {
    const { route } = record;
    if (route !== undefined && this.#excluded.size > 0) {
      if (this.#excluded.has(route)) return false;
      // `ns/name/rule/match` → `ns/name`
      const second = route.indexOf('/', route.indexOf('/') + 1);
      if (second > 0 && this.#excluded.has(route.slice(0, second))) return false;
    }
    if (this.#ratio >= 1 || record.status >= 400 || record.errorCode !== undefined) return true;
    return this.#random() < this.#ratio;
  }
}

const quote = JSON.stringify;

/** A number as JSON writes it (non-finite ones become null). */
function num(value: number): string {
  return Number.isFinite(value) ? String(value) : 'null';
}

/**
 * The access-log line: `head` (level, time and the logger's bindings, see rawLineWriter), the
 * record's fields in their declared order (absent ones left out, as JSON.stringify would), then
 * `"msg":"request"` — the line pino wrote for `logger.info(record, 'request')`.
 */
export function formatAccessLine(head: string, r: AccessRecord): string {
  let line = `${head},"method":${quote(r.method)},"host":${quote(r.host)},"path":${quote(r.path)},"status":${num(r.status)}`;
  if (r.route !== undefined) line += `,"route":${quote(r.route)}`;
  if (r.cluster !== undefined) line += `,"cluster":${quote(r.cluster)}`;
  if (r.upstream !== undefined) line += `,"upstream":${quote(r.upstream)}`;
  line += `,"bytesIn":${num(r.bytesIn)},"bytesOut":${num(r.bytesOut)},"durationMs":${num(r.durationMs)}`;
  if (r.upstreamMs !== undefined) line += `,"upstreamMs":${num(r.upstreamMs)}`;
  line += `,"requestId":${quote(r.requestId)}`;
  if (r.errorCode !== undefined) line += `,"errorCode":${quote(r.errorCode)}`;
  if (r.traceId !== undefined) line += `,"traceId":${quote(r.traceId)}`;
  if (r.attempts !== undefined) line += `,"attempts":${num(r.attempts)}`;
  if (r.consumer !== undefined) line += `,"consumer":${quote(r.consumer)}`;
  if (r.team !== undefined) line += `,"team":${quote(r.team)}`;
  if (r.ai !== undefined) line += `,"ai":${quote(r.ai)}`;
  if (r.guardrail !== undefined) line += `,"guardrail":${quote(r.guardrail)}`;
  return `${line},"msg":"request"}\n`;
}
