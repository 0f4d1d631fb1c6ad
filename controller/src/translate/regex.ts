// Regular expressions written in manifests: Route matches (path, header, query) and guardrail deny
// patterns. They must be valid in BOTH dialects: ECMAScript (`u` flag) and RE2. The data plane runs
// them in re2js, a linear-time RE2 engine, never in the backtracking RegExp engine, so no pattern
// can stall it with catastrophic backtracking: `(a+)+$` or `(a|aa)*b` take time proportional to
// the input, not exponential in it. (We did not pick "reject what a ReDoS checker flags": the
// deterministic checkers either miss exponential shapes such as `(a|aa)*b` or flag everyday
// patterns such as `.*foo.*`, and the precise ones are slow and timeout-driven, which would make
// `translate` non-deterministic. A linear engine makes the guarantee by construction.)
//
// What a linear engine still pays for is the size of the compiled program: each input character
// is matched against every live instruction. So, like other RE2-based gateways, we cap the program
// size (`MAX_PROGRAM_SIZE`); `(.*a){20}` is over it, everyday patterns are far below it. The check
// is a pure function of the pattern: same manifest, same verdict, on any machine.
//
// Route matches match the WHOLE value: the snapshot carries them anchored as `^(?:pattern)$`;
// deny patterns are searched for anywhere in the text.
import { RE2JS } from 're2js';

export const REGEX_FLAGS = 'u';

/**
 * Largest compiled RE2 program accepted (instructions, as `RE2JS.programSize` counts them). 100
 * is the limit RE2-based proxies commonly enforce; realistic patterns (a UUID path, a list of a
 * few words) compile to 15-70, while blow-ups such as `(.*a){20}` exceed it.
 */
export const MAX_PROGRAM_SIZE = 100;

/** How the data plane applies a pattern: to the whole value (route matches) or anywhere in a text. */
export type RegexUse = 'whole' | 'search';

/** The pattern as the snapshot carries it: anchored to match the whole value. */
export function anchorRegex(pattern: string): string {
  return `^(?:${pattern})$`;
}

/** Why `pattern` cannot be used, or undefined when it can. The message follows the quoted pattern. */
export function regexProblem(pattern: string, use: RegexUse = 'whole'): string | undefined {
  try {
    new RegExp(pattern, REGEX_FLAGS);
  } catch (error) {
    // V8 repeats the pattern ("Invalid regular expression: /(a/u: Unterminated group"); keep the reason.
    const reason = (error as Error).message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '');
    return `is not a valid regular expression: ${reason}`;
  }
  return unsupportedConstruct(pattern) ?? re2Problem(use === 'whole' ? anchorRegex(pattern) : pattern);
}

const RE2_SUBSET = 'only the RE2 subset is supported (no lookaround, no backreferences)';

/** What the data plane's engine says of the pattern as it will compile it. */
function re2Problem(source: string): string | undefined {
  let size: number;
  try {
    size = RE2JS.compile(source).programSize();
  } catch (error) {
    // re2js: "error parsing regexp: invalid escape sequence: `\u`"; the prefix says nothing.
    const reason = (error as Error).message.replace(/^error parsing regexp: /, '');
    const hint = reason.includes('`\\u`') ? ' (write the character itself, or \\xHH below U+0100)' : '';
    return `is outside the RE2 subset the gateway runs: ${reason}; use syntax that RE2 and JavaScript share${hint}`;
  }
  if (size > MAX_PROGRAM_SIZE) {
    return `is too complex: it compiles to ${size} instructions, more than the ${MAX_PROGRAM_SIZE} allowed (every input character is matched against each of them); simplify it, for example with fewer alternatives or smaller counted repetitions such as {20}, or split it into several patterns`;
  }
  return undefined;
}

/**
 * Finds lookaround and backreferences. Relies on the pattern having compiled with the `u` flag:
 * there, `\1`…`\9` outside a class can only be a backreference and `\k` only a named one, and
 * neither may appear inside a class. (RE2 refuses them too; this names them more plainly.)
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
