// Guardrails on the request body, before any provider is called: a refusal is answered here and
// masking rewrites the text that will be sent. Response and stream checks live with the writers,
// where the answer is read.
import { estimateInputTokens } from '../metering/estimate.ts';
import type { Prepared, RequestState } from './state.ts';

/** False when refused (answered already). */
export function guardRequest(rs: RequestState, p: Prepared): boolean {
  const verdict = p.guardrails!.checkRequest(
    { body: p.json, model: p.model, estimateInputTokens: () => estimateInputTokens(p.json) },
    rs.recordGuardrail,
  );
  if (!verdict.ok) {
    rs.exchange.fail(verdict.refusal.code, verdict.refusal.params);
    return false;
  }
  if (verdict.masked) p.text = JSON.stringify(p.json);
  return true;
}
