// The per-request usage header (and stream trailer): `x-tollgate-usage: input=…; output=…; …`.
import type { Usage } from './usage.ts';

export const USAGE_HEADER = 'x-tollgate-usage';

export function formatUsageHeader(
  usage: Usage,
  cost: { micros: number; currency: string } | undefined,
): string {
  const parts = [
    `input=${usage.inputTokens}`,
    `output=${usage.outputTokens}`,
    `cached_input=${usage.cachedInputTokens}`,
    `cache_write=${usage.cacheWriteTokens}`,
    `reasoning=${usage.reasoningTokens}`,
  ];
  if (cost) parts.push(`cost_micros=${cost.micros}`, `currency=${cost.currency}`);
  parts.push(`estimated=${usage.estimated}`);
  return parts.join('; ');
}

/** The header back into figures (for clients and tests). */
export function parseUsageHeader(value: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of value.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}
