export {
  type DecisionSinks,
  type DecisionSubject,
  type GuardrailDetail,
  guardrailRecorder,
} from './decisions.ts';
export {
  compileRouteGuardrails,
  type GuardrailAction,
  type GuardrailRecorder,
  type GuardrailStage,
  Guardrails,
  type RequestCheck,
  RouteGuardrails,
  type StreamWatcher,
  type Verdict,
} from './guardrails.ts';
export { INJECTION_SIGNALS, type InjectionScore, scoreInjection } from './injection.ts';
export { DETECTORS, detect, mask, PLACEHOLDERS } from './pii.ts';
export { guardrailStreamError } from './stream-error.ts';
export type { Finding, PIIType } from './types.ts';
