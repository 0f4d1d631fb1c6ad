// Model globs from manifests ("gpt-4o*", "claude-*-sonnet*"): `*` is any run of characters,
// everything else literal. Matched without regular expressions: a glob turned into `^a.*b.*c$`
// backtracks polynomially on a crafted model name (the name comes from the request body, so it can
// be megabytes long), while this matcher pins the literal prefix and suffix and finds the middle
// parts leftmost-first, which is both correct for `*`-only globs and linear in practice
// (O(length × glob size) at worst).

/** A matcher for one glob, built once (per snapshot); exact names compare with ===. */
export function globMatcher(pattern: string): (value: string) => boolean {
  if (!pattern.includes('*')) return (value) => value === pattern;
  const parts = pattern.split('*');
  const first = parts[0]!;
  const last = parts.at(-1)!;
  const middle = parts.slice(1, -1).filter((part) => part !== '');
  const minLength = parts.reduce((sum, part) => sum + part.length, 0);
  return (value) => {
    if (value.length < minLength || !value.startsWith(first) || !value.endsWith(last)) return false;
    const end = value.length - last.length;
    let at = first.length;
    for (const part of middle) {
      const found = value.indexOf(part, at);
      if (found === -1 || found + part.length > end) return false;
      at = found + part.length;
    }
    return true;
  };
}

/** One-off form of `globMatcher`, for callers that hold globs as strings. */
export function globMatches(pattern: string, value: string): boolean {
  return globMatcher(pattern)(value);
}
