// Gemini finish reasons → the unified (OpenAI) vocabulary.
import type { FinishReason } from '../../unified.ts';

const FILTERED = new Set(['SAFETY', 'RECITATION', 'BLOCKLIST', 'PROHIBITED_CONTENT', 'SPII', 'IMAGE_SAFETY']);

/** A function call ends the turn with STOP in Gemini; OpenAI clients expect tool_calls. */
export function finishReasonOf(reason: unknown, calledTools: boolean): FinishReason {
  if (reason === 'MAX_TOKENS') return 'length';
  if (typeof reason === 'string' && FILTERED.has(reason)) return 'content_filter';
  return calledTools ? 'tool_calls' : 'stop';
}
