// Gateway API durations ("1h30m", "500ms") to milliseconds.

const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1 };

/** Milliseconds, or undefined when `value` is not a sequence of number+unit pairs. */
export function durationToMs(value: string): number | undefined {
  // "ms" is tried before "m" so "500ms" is not read as 500 minutes followed by "s".
  const pair = /([0-9]+)(ms|h|m|s)/y;
  let total = 0;
  let pairs = 0;
  while (pair.lastIndex < value.length) {
    const found = pair.exec(value);
    if (!found) return undefined;
    total += Number(found[1]) * UNIT_MS[found[2]!]!;
    pairs += 1;
  }
  return pairs > 0 && Number.isSafeInteger(total) ? total : undefined;
}
