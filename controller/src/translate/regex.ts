// Regular expressions in matches (path, header, query). The data plane runs them as JavaScript
// RegExp with the `u` flag; they are limited to the RE2 subset (no lookaround, no backreferences)
// so the same manifests stay portable and the patterns cannot refer back to captured text. They
// match the WHOLE value: the snapshot carries them anchored as `^(?:pattern)$`.

export const REGEX_FLAGS = 'u';

/** The pattern as the snapshot carries it: anchored to match the whole value. */
export function anchorRegex(pattern: string): string {
  return `^(?:${pattern})$`;
}

/** Why `pattern` cannot be used, or undefined when it can. */
export function regexProblem(pattern: string): string | undefined {
  try {
    new RegExp(pattern, REGEX_FLAGS);
  } catch (error) {
    // V8 repeats the pattern ("Invalid regular expression: /(a/u: Unterminated group"); keep the reason.
    const reason = (error as Error).message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '');
    return `is not a valid regular expression: ${reason}`;
  }
  return unsupportedConstruct(pattern);
}

const RE2_SUBSET = 'only the RE2 subset is supported (no lookaround, no backreferences)';

/**
 * Finds lookaround and backreferences. Relies on the pattern having compiled with the `u` flag:
 * there, `\1`…`\9` outside a class can only be a backreference and `\k` only a named one, and
 * neither may appear inside a class.
 */
function unsupportedConstruct(pattern: string): string | undefined {
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i];
    if (char === '\\') {
      const next = pattern[i + 1] ?? '';
      if (!inClass && next >= '1' && next <= '9') return `uses a backreference "\\${next}": ${RE2_SUBSET}`;
      if (!inClass && next === 'k') return `uses a named backreference "\\k<…>": ${RE2_SUBSET}`;
      i++;
      continue;
    }
    if (inClass) {
      if (char === ']') inClass = false;
      continue;
    }
    if (char === '[') {
      inClass = true;
      continue;
    }
    if (char === '(' && pattern[i + 1] === '?') {
      const kind = pattern.slice(i + 2, i + 4);
      if (kind.startsWith('=') || kind.startsWith('!')) {
        return `uses a lookahead "(?${kind[0]}": ${RE2_SUBSET}`;
      }
      if (kind === '<=' || kind === '<!') return `uses a lookbehind "(?${kind}": ${RE2_SUBSET}`;
    }
  }
  return undefined;
}
