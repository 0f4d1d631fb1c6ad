// Where a guardrail decision goes once taken: the decisions counter, the request's access-log line
// (which guardrail acted) and, for findings only logged (`action: log`), one structured warning.
// Nothing here ever holds the text that tripped a rule: rule kinds, scores, signal names and the
// Policy are enough to find the request again, and prompts are the caller's data.
import type { Logger } from '@tollgate/telemetry';
import type { GuardrailAccessRecord } from '../../observability/access-log.ts';

export type GuardrailStage = 'request' | 'response';
export type GuardrailAction = 'mask' | 'block' | 'log';

/** What a decision adds beyond its metric labels. */
export interface GuardrailDetail {
  /** The Policy whose guardrails decided, as namespace/name. */
  policy: string;
  /** Prompt injection: the score, the threshold it met and the names of the signals found. */
  score?: number;
  threshold?: number;
  signals?: readonly string[];
}

/** Told of every decision; rule kinds and actions are bounded label values. */
export type GuardrailRecorder = (
  stage: GuardrailStage,
  rule: string,
  action: GuardrailAction,
  detail?: GuardrailDetail,
) => void;

/** The request the decisions are about: what the log line names, and where its access record is kept. */
export interface DecisionSubject {
  readonly route: string | undefined;
  readonly requestId: string;
  /** Who calls, when a Policy authenticates. */
  readonly policy?:
    | { readonly caller?: { readonly namespace: string; readonly name: string } | undefined }
    | undefined;
  /** What the access-log line reports. */
  guardrail: GuardrailAccessRecord | undefined;
}

export interface DecisionSinks {
  count(labels: { stage: GuardrailStage; rule: string; action: GuardrailAction }): void;
  logger: Logger | undefined;
  subject: DecisionSubject;
}

const RANK: Readonly<Record<GuardrailAction, number>> = { log: 0, mask: 1, block: 2 };

/**
 * A recorder for one request. The access-log line names one guardrail: the one that blocked, else
 * the first that masked, else the first that logged.
 */
export function guardrailRecorder({ count, logger, subject }: DecisionSinks): GuardrailRecorder {
  return (stage, rule, action, detail) => {
    count({ stage, rule, action });
    const kept = subject.guardrail;
    if (!kept || RANK[action] > RANK[kept.action]) subject.guardrail = { stage, rule, action };
    if (action !== 'log' || !logger) return;
    const caller = subject.policy?.caller;
    const consumer = caller ? `${caller.namespace}/${caller.name}` : undefined;
    logger.warn(
      {
        guardrail: { stage, rule, action },
        ...(detail?.score !== undefined ? { score: detail.score } : {}),
        ...(detail?.threshold !== undefined ? { threshold: detail.threshold } : {}),
        ...(detail?.signals ? { signals: detail.signals } : {}),
        ...(subject.route ? { route: subject.route } : {}),
        ...(consumer ? { consumer } : {}),
        ...(detail ? { policy: detail.policy } : {}),
        requestId: subject.requestId,
      },
      'guardrail finding logged',
    );
  };
}
