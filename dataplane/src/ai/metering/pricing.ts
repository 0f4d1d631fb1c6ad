// Prices per million tokens are decimal strings ("2.50", up to 12 decimals). They are turned into
// integers once per snapshot (pico-units per million tokens), so a request's cost is exact integer
// arithmetic: tokens × price summed, then one rounding to micro-units.
import type { Usage } from './usage.ts';

const SCALE_DIGITS = 12;
const SCALE = 10n ** BigInt(SCALE_DIGITS);

export interface Pricing {
  currency: string;
  /** Price per million tokens × 10^12 (an exact integer for every decimal the API accepts). */
  input: bigint;
  output: bigint;
  cachedInput: bigint;
  cacheWrite: bigint;
}

export interface PricingSpec {
  currency?: string;
  inputPerMillion: string;
  outputPerMillion: string;
  cachedInputPerMillion?: string;
  cacheWritePerMillion?: string;
}

const DECIMAL = /^(\d+)(?:\.(\d{1,12}))?$/;

/** "2.50" → 2_500_000_000_000n (scaled by 10^12). Throws on anything else, so the snapshot is NACKed. */
export function parseDecimal(text: string): bigint {
  const match = DECIMAL.exec(text);
  if (!match) throw new Error(`price ${JSON.stringify(text)} is not a decimal number such as "2.50"`);
  const fraction = (match[2] ?? '').padEnd(SCALE_DIGITS, '0');
  return BigInt(match[1]!) * SCALE + BigInt(fraction);
}

export function compilePricing(spec: PricingSpec): Pricing {
  const input = parseDecimal(spec.inputPerMillion);
  return {
    currency: spec.currency ?? 'USD',
    input,
    output: parseDecimal(spec.outputPerMillion),
    cachedInput: spec.cachedInputPerMillion === undefined ? input : parseDecimal(spec.cachedInputPerMillion),
    cacheWrite: spec.cacheWritePerMillion === undefined ? input : parseDecimal(spec.cacheWritePerMillion),
  };
}

/**
 * Cost in micro-units of the pricing's currency, rounded half up once. n tokens at P per million
 * cost n × P / 10^6 units, which is n × P micro-units; with P scaled by 10^12, n × P_scaled / 10^12.
 */
export function costMicros(usage: Usage, pricing: Pricing): number {
  const cached = BigInt(Math.min(usage.cachedInputTokens, usage.inputTokens));
  const written = BigInt(Math.min(usage.cacheWriteTokens, usage.inputTokens - Number(cached)));
  const plainInput = BigInt(usage.inputTokens) - cached - written;
  const scaled =
    plainInput * pricing.input +
    cached * pricing.cachedInput +
    written * pricing.cacheWrite +
    BigInt(usage.outputTokens) * pricing.output;
  return Number((scaled + SCALE / 2n) / SCALE);
}
